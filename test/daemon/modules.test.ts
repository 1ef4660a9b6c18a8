// Every module's routes through the daemon against three simulator processes: the answer is the
// smart proxy's, and the side effect lands where the feature's policy says.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startHarness, type Harness } from '../support/daemon-harness.js';
import { startFakeForeman, type FakeForeman } from '../support/fake-foreman.js';

const MAC = 'aa:bb:cc:00:00:01';
const BMC_AUTH = { authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` };

describe('every module through proxy-proxy', () => {
  let h: Harness;
  let foreman: FakeForeman;
  const sendsTo = async (prefix: string) => {
    const out: string[] = [];
    for (const s of h.sims) if ((await s.calls()).some((c) => c.path.startsWith(prefix))) out.push(s.name);
    for (const s of h.sims) await s.clearCalls();
    return out;
  };

  beforeAll(async () => {
    foreman = await startFakeForeman();
    h = await startHarness({ backends: 3, foremanUrl: foreman.url, simArgs: ['--foreman-url', foreman.url, '--template-url', 'http://templates.example.test:8000'] });
    for (const s of h.sims) await s.clearCalls();
  });
  afterAll(async () => {
    await h.stop();
    await foreman.close();
  });

  it('root: /features, /version, /v2/features', async () => {
    const f = await h.http.get('/features');
    expect(f.status).toBe(200);
    expect(JSON.parse(f.body)).toEqual(['bmc', 'dhcp', 'dns', 'facts', 'httpboot', 'logs', 'puppet', 'puppetca', 'realm', 'registration', 'templates', 'tftp']);
    expect(f.headers['server']).toMatch(/^foreman-proxy\//);
    await h.daemon.runtime.catalog.refreshAll();
    const v = JSON.parse((await h.http.get('/version')).body);
    expect(v.version).toBe('3.11.0-develop');
    expect(v.modules.tftp).toBe('3.11.0');
    const v2 = JSON.parse((await h.http.get('/v2/features')).body);
    expect(v2.tftp).toMatchObject({ state: 'running', http_enabled: true, https_enabled: false });
    expect(v2.dhcp.capabilities).toEqual(expect.arrayContaining(['dhcp_filename_hostname', 'dhcp_filename_ipv4']));
    expect(v2.templates.settings.template_url).toBe('http://templates.example.test:8000');
  });

  it('tftp (replicate): create, read, default menu, boot file, delete on all three', async () => {
    expect((await h.http.post(`/tftp/PXEGrub2/${MAC}`, { pxeconfig: 'menuentry\n' })).status).toBe(200);
    for (const s of h.sims) expect((await s.state()).tftp[`grub2/grub.cfg-01-aa-bb-cc-00-00-01`]).toBe('menuentry\n');
    expect((await h.http.get(`/tftp/PXEGrub2/${MAC}`)).body).toBe('menuentry\n');
    expect((await h.http.post('/tftp/PXELinux/create_default', { menu: 'default menu\n' })).status).toBe(200);
    for (const s of h.sims) expect((await s.state()).tftp['pxelinux.cfg/default']).toBe('default menu\n');
    expect((await h.http.post('/tftp/fetch_boot_file', { prefix: 'boot/os1', path: `${foreman.url}/media/vmlinuz` })).status).toBe(200);
    expect(JSON.parse((await h.http.get('/tftp/serverName')).body)).toHaveProperty('serverName');
    expect((await h.http.post(`/tftp/${MAC}`, { pxeconfig: 'legacy\n' })).status).toBe(200);
    expect((await h.http.delete(`/tftp/PXEGrub2/${MAC}`)).status).toBe(200);
    for (const s of h.sims) expect((await s.state()).tftp[`grub2/grub.cfg-01-aa-bb-cc-00-00-01`]).toBeUndefined();
    expect(await sendsTo('/tftp')).toEqual(['sim-a', 'sim-b', 'sim-c']);
  });

  it('dhcp (failover): subnets, create, lookups, unused_ip, deletes — on the first backend only', async () => {
    expect(JSON.parse((await h.http.get('/dhcp')).body)).toHaveLength(2);
    expect(JSON.parse((await h.http.get('/dhcp/192.0.2.0')).body)).toHaveProperty('reservations');
    expect(JSON.parse((await h.http.get('/dhcp/192.0.2.0/unused_ip')).body).ip).toMatch(/^192\.0\.2\./);
    const rec = { hostname: 'h1.example.test', name: 'h1.example.test', mac: '52:54:00:aa:00:01', ip: '192.0.2.20' };
    const created = await h.http.post('/dhcp/192.0.2.0', rec);
    expect(created.status).toBe(200);
    expect(created.headers['content-type']).toBe('application/json');
    expect(JSON.parse((await h.http.get('/dhcp/192.0.2.0/mac/52:54:00:aa:00:01')).body).ip).toBe('192.0.2.20');
    expect(JSON.parse((await h.http.get('/dhcp/192.0.2.0/ip/192.0.2.20')).body)[0].mac).toBe('52:54:00:aa:00:01');
    expect((await h.http.post('/dhcp/192.0.2.0', rec)).status).toBe(409);
    // Rack's method override through the daemon.
    expect((await h.http.post('/dhcp/192.0.2.0/mac/52:54:00:aa:00:01', { _method: 'DELETE' })).status).toBe(200);
    expect((await h.http.get('/dhcp/192.0.2.0/mac/52:54:00:aa:00:01')).status).toBe(404);
    expect((await h.http.delete('/dhcp/192.0.2.0/ip/192.0.2.99')).status).toBe(200);
    expect(await sendsTo('/dhcp')).toEqual(['sim-a']);
  });

  it('dns (failover): create with and without the trailing slash, conflict, deletes', async () => {
    expect((await h.http.post('/dns', { fqdn: 'web.example.test', value: '192.0.2.10', type: 'A' })).status).toBe(200);
    expect((await h.http.post('/dns/', { fqdn: 'web.example.test', value: '192.0.2.11', type: 'A' })).status).toBe(409);
    expect((await h.http.post('/dns/', { fqdn: 'web.example.test', value: '10.2.0.192.in-addr.arpa', type: 'PTR' })).status).toBe(200);
    expect((await h.http.delete('/dns/web.example.test/A')).status).toBe(200);
    expect((await h.http.delete('/dns/10.2.0.192.in-addr.arpa')).status).toBe(200);
    expect((await h.sims[0]!.state()).dns).toEqual([]);
    expect(await sendsTo('/dns')).toEqual(['sim-a']);
  });

  it('templates and userdata: relayed to Foreman by proxy-proxy itself with the host address, no backend involved', async () => {
    expect(JSON.parse((await h.http.get('/unattended/templateServer')).body)).toEqual({ templateServer: 'http://templates.example.test:8000' });
    const t = await h.http.get('/unattended/provision?token=abc');
    expect(t.status).toBe(200);
    expect(t.body).toMatch(/^FAKE-FOREMAN GET \/unattended\/provision query=token=abc&url=/);
    expect(t.body).toMatch(/xff=127\.0\.0\.1/);
    expect((await h.http.get('/userdata/user-data')).body).toMatch(/^FAKE-FOREMAN GET \/userdata\/user-data/);
    expect((await h.http.send('POST', '/unattended/failed?token=abc', { body: 'log\n', headers: { 'content-type': 'text/plain' } })).status).toBe(200);
    expect(await sendsTo('/u')).toEqual([]);
  });

  it('registration: relayed once by proxy-proxy itself', async () => {
    const before = foreman.requests.length;
    const r = await h.http.post('/register', { activation_keys: 'x' });
    expect(r.status).toBe(200);
    expect(foreman.requests.length - before).toBe(1);
    expect(await sendsTo('/register')).toEqual([]);
  });

  it('puppetca (primary): list and autosign add/list/delete on the first backend', async () => {
    expect((await h.http.get('/puppet/ca')).status).toBe(200);
    expect((await h.http.post('/puppet/ca/autosign/new.example.test')).status).toBe(200);
    expect(JSON.parse((await h.http.get('/puppet/ca/autosign')).body)).toContain('new.example.test');
    expect((await h.http.delete('/puppet/ca/autosign/new.example.test')).status).toBe(200);
    expect((await h.http.delete('/puppet/ca/autosign/new.example.test')).status).toBe(404);
    expect(await sendsTo('/puppet/ca')).toEqual(['sim-a']);
  });

  it('puppet: environments and classes; run is 501', async () => {
    const envs = JSON.parse((await h.http.get('/puppet/environments')).body) as string[];
    expect(envs.length).toBeGreaterThan(0);
    expect((await h.http.get(`/puppet/environments/${envs[0]}`)).status).toBe(200);
    expect((await h.http.get(`/puppet/environments/${envs[0]}/classes`)).status).toBe(200);
    expect((await h.http.get('/puppet/environments/nope')).status).toBe(404);
    expect((await h.http.post('/puppet/run')).status).toBe(501);
  });

  it('realm: join returns the one-time password, sent to one backend exactly once', async () => {
    const r = await h.http.post('/realm/EXAMPLE.TEST/', { hostname: 'r1.example.test', userclass: 'x' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toHaveProperty('randompassword');
    expect((await h.http.delete('/realm/EXAMPLE.TEST/r1.example.test')).status).toBe(200);
    expect((await h.http.delete('/realm/EXAMPLE.TEST/r1.example.test')).status).toBe(404);
    expect(await sendsTo('/realm')).toEqual(['sim-a']);
  });

  it('bmc: Basic auth passed through, power on/status', async () => {
    expect((await h.http.get('/bmc/host1.example.test/chassis/power/status')).status).toBe(401);
    expect((await h.http.put('/bmc/host1.example.test/chassis/power/on', undefined, BMC_AUTH)).status).toBe(200);
    const s = await h.http.get('/bmc/host1.example.test/chassis/power/status', BMC_AUTH);
    expect(JSON.parse(s.body)).toMatchObject({ action: 'status' });
    const puts = (await h.sims[0]!.calls()).filter((c) => c.method === 'PUT');
    expect(puts).toHaveLength(1);
    expect(await sendsTo('/bmc')).toEqual(['sim-a']);
  });

  it('httpboot and /EFI: files of the replicated TFTP tree', async () => {
    expect((await h.http.post(`/tftp/PXELinux/${MAC}`, { pxeconfig: 'served over http\n' })).status).toBe(200);
    const f = await h.http.get('/httpboot/pxelinux.cfg/01-aa-bb-cc-00-00-01');
    expect(f.status).toBe(200);
    expect(f.body).toBe('served over http\n');
    expect((await h.http.get('/EFI/pxelinux.cfg/01-aa-bb-cc-00-00-01')).body).toBe('served over http\n');
    expect((await h.http.get('/httpboot/no/such/file')).status).toBe(404);
  });

  it('facts', async () => {
    const all = JSON.parse((await h.http.get('/facts')).body) as Record<string, unknown>;
    const name = Object.keys(all)[0]!;
    expect(JSON.parse((await h.http.get(`/facts/${name}`)).body)).toHaveProperty(name);
    expect((await h.http.get('/facts/no_such_fact')).status).toBe(404);
  });

  it('logs: proxy-proxy\'s own buffer in the smart proxy shape, filtered by from_timestamp', async () => {
    const marker = await h.http.get('/tftp/serverName', { 'x-request-id': 'logs-marker' });
    expect(marker.status).toBe(200);
    const all = JSON.parse((await h.http.get('/logs/')).body);
    expect(all.info).toEqual({ size: 2000, tail_size: 1000, level: null, level_tail: 3, failed_modules: {} });
    const entry = all.logs.find((l: { request_id?: string }) => l.request_id === 'logs-marker');
    expect(entry).toMatchObject({ level: 'INFO' });
    expect(entry.message).toMatch(/GET \/tftp\/serverName 200/);
    const later = JSON.parse((await h.http.get(`/logs?from_timestamp=${entry.timestamp}`)).body);
    expect(later.logs.every((l: { timestamp: number }) => l.timestamp > entry.timestamp)).toBe(true);
    expect(later.logs.some((l: { request_id?: string }) => l.request_id === 'logs-marker')).toBe(false);
    expect(JSON.parse((await h.http.get('/logs/?from_timestamp=4102444800')).body).logs).toEqual([]);
  });
});
