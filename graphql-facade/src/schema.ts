/** The facade's subgraph schema, exactly the contract's (shared/CONTRACT.md, GraphQL). */
import { parse } from 'graphql';

export const typeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  "An instant as an ISO-8601 string in UTC with milliseconds, e.g. 2024-01-02T09:30:00.000Z."
  scalar DateTime

  type Query {
    "Every dataset of the Flight server."
    datasets: [Dataset!]!
    "The instrument, or null when no dataset holds a row for the symbol."
    instrument(symbol: String!): Instrument
    "Bars of one symbol, ordered by time. from inclusive, to exclusive; interval resamples (1m 5m 15m 30m 1h 4h 1d 1w); limit keeps the first N."
    bars(dataset: String, symbol: String!, from: DateTime, to: DateTime, interval: String, limit: Int): [Bar!]!
    "Instruments of a dataset (the distinct values of its first key column), sorted; prefix filters, limit keeps the first N (default 1000)."
    instruments(dataset: String, prefix: String, limit: Int): [Instrument!]!
  }

  type Dataset {
    name: String!
    timeColumn: String!
    keyColumns: [String!]!
    partition: String!
    rows: Float!
    version: Int!
    fields: [Field!]!
  }

  type Field {
    name: String!
    type: String!
    nullable: Boolean!
  }

  type Instrument @key(fields: "symbol") {
    symbol: String!
    "Bars ordered by time. from inclusive, to exclusive; interval resamples (1m 5m 15m 30m 1h 4h 1d 1w); limit keeps the first N."
    bars(dataset: String, from: DateTime, to: DateTime, interval: String, limit: Int): [Bar!]!
    "The newest bar, or null when the dataset holds none for the symbol."
    latest(dataset: String): Bar
    "Bars as parallel arrays in time order (for charts): the same rows, arguments and limits as bars."
    series(dataset: String, from: DateTime, to: DateTime, interval: String, limit: Int): Series!
  }

  "Bars as columns: element i of every array is one bar. ts in epoch milliseconds; a value is null where the bar has none (or the dataset has no such column)."
  type Series {
    symbol: String!
    ts: [Float!]!
    open: [Float]
    high: [Float]
    low: [Float]
    close: [Float]
    volume: [Float]
  }

  type Bar {
    symbol: String!
    ts: DateTime!
    open: Float
    high: Float
    low: Float
    close: Float
    volume: Float
  }
`);
