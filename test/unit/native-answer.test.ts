import { describe, it, expect } from '@jest/globals';
import { errorContentType } from '../../src/http/native-answer.js';
import { parseRequestTarget } from '../../src/http/request-target.js';

describe('error Content-Type follows Accept as the smart proxy does', () => {
  it.each([
    [undefined, 'json'],
    ['application/json', 'json'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'json'],
    ['*/*', 'json'],
    ['text/plain', 'html'],
    ['text/html', 'html'],
    // Sinatra's accept? matches wildcard entries and ignores q; it compares types, not substrings.
    ['application/*', 'json'],
    ['text/plain, application/json;q=0', 'json'],
    ['text/plain, Application/JSON', 'json'],
    ['application/jsonp', 'html'],
  ])('Accept %s → %s', (accept, expected) => {
    expect(errorContentType(accept === undefined ? {} : { accept })).toBe(expected);
  });
});

describe('request target', () => {
  it('collapses // but keeps a trailing slash and the raw query', () => {
    expect(parseRequestTarget('//features')).toEqual({ path: '/features', rawQuery: '' });
    expect(parseRequestTarget('/tftp//serverName')).toEqual({ path: '/tftp/serverName', rawQuery: '' });
    expect(parseRequestTarget('/logs/?from_timestamp=1.5')).toEqual({ path: '/logs/', rawQuery: 'from_timestamp=1.5' });
    expect(parseRequestTarget('/compliance//arf/1?a=b//c')).toEqual({ path: '/compliance/arf/1', rawQuery: 'a=b//c' });
  });
});
