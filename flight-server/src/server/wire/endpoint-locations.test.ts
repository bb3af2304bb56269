import { describe, expect, it } from 'vitest';
import { EndpointLocations, NO_LOCATIONS } from './endpoint-locations.js';

const uris = (locs: { uri: string }[][]) => locs.map((l) => l.map((x) => x.uri));

describe('EndpointLocations', () => {
  it('lists every URL for each endpoint, consecutive endpoints and answers starting one further on', () => {
    const locations = new EndpointLocations(() => ['a', 'b', 'c']);
    expect(uris(locations.assign(4))).toEqual([
      ['a', 'b', 'c'],
      ['b', 'c', 'a'],
      ['c', 'a', 'b'],
      ['a', 'b', 'c'],
    ]);
    expect(uris(locations.assign(1))).toEqual([['b', 'c', 'a']]);
    expect(uris(locations.assign(1))).toEqual([['c', 'a', 'b']]);
    expect(uris(locations.assign(0))).toEqual([]);
  });

  it('follows the live list as it changes; none without URLs', () => {
    let live = ['a', 'b'];
    const locations = new EndpointLocations(() => live);
    expect(uris(locations.assign(2))).toEqual([['a', 'b'], ['b', 'a']]);
    live = ['b'];
    expect(uris(locations.assign(2))).toEqual([['b'], ['b']]);
    expect(uris(NO_LOCATIONS.assign(3))).toEqual([[], [], []]);
  });
});
