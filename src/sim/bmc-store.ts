// What the simulated BMC module holds per host: power, boot device, identify light.
export interface BmcHost {
  power: 'on' | 'off';
  bootdevice: string;
  identify: 'on' | 'off';
}

export class BmcStore {
  hosts = new Map<string, BmcHost>();

  host(name: string): BmcHost {
    let h = this.hosts.get(name);
    if (!h) {
      h = { power: 'off', bootdevice: 'disk', identify: 'off' };
      this.hosts.set(name, h);
    }
    return h;
  }

  reset(): void {
    this.hosts.clear();
  }

  snapshot(): Record<string, BmcHost> {
    return Object.fromEntries([...this.hosts].map(([k, v]) => [k, { ...v }]));
  }
}
