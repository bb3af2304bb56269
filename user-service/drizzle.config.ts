import { defineConfig } from 'drizzle-kit';

/** drizzle-kit: `npm run db:generate -w user-service` writes the next migration into migrations/. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
});
