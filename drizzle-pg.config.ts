// drizzle-kit's config for Postgres: `npm run db:generate:pg` turns changes in db/pg/schema.ts into a new migration.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './db/pg/schema.ts',
  out: './db/pg/migrations',
});
