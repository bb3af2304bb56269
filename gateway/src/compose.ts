/** Supergraph composition with @apollo/composition: the same code for `npm run compose` and tests. */
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import type { SubgraphSdl } from './subgraphs.js';

export function composeSupergraph(subgraphs: SubgraphSdl[]): string {
  const result = composeServices(subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  if (result.errors) {
    throw new Error(`supergraph composition failed: ${result.errors.map((e) => e.message).join('; ')}`);
  }
  return result.supergraphSdl;
}
