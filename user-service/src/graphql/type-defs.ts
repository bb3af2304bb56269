/** The user subgraph's schema (CONTRACT.md "GraphQL"), Apollo Federation 2. */
import { parse } from 'graphql';

export const USER_SUBGRAPH_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

  "An instant as an ISO-8601 string in UTC, e.g. 2024-01-02T09:30:00.000Z"
  scalar DateTime

  type Query {
    "The user with this id, or null when there is none."
    user(id: ID!): User
    "All users, oldest first."
    users: [User!]!
  }

  type Mutation {
    "Registers a user. Emails are unique regardless of case."
    createUser(email: String!, name: String!): User!
    "Creates an empty watchlist; names are unique per user regardless of case."
    createWatchlist(userId: ID!, name: String!): Watchlist!
    "Appends a symbol (trimmed, upper-cased); adding one already present changes nothing."
    addToWatchlist(watchlistId: ID!, symbol: String!): Watchlist!
    "Removes a symbol; removing one not present changes nothing."
    removeFromWatchlist(watchlistId: ID!, symbol: String!): Watchlist!
    "Deletes a watchlist and its symbols: true if it existed, false if there was no such watchlist."
    deleteWatchlist(id: ID!): Boolean!
  }

  type User @key(fields: "id") {
    id: ID!
    email: String!
    name: String!
    createdAt: DateTime!
    "Oldest first."
    watchlists: [Watchlist!]!
  }

  type Watchlist {
    id: ID!
    name: String!
    "In the order they were added."
    symbols: [String!]!
    "The symbols as Instrument entities, resolved by the financial subgraph."
    instruments: [Instrument!]!
  }

  type Instrument @key(fields: "symbol", resolvable: false) {
    symbol: String!
  }
`;

export const userTypeDefs = parse(USER_SUBGRAPH_SDL);
