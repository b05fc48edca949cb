// drizzle-kit's config: `npm run db:generate` turns changes in db/schema.ts into a new migration.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './db/schema.ts',
  out: './db/migrations',
});
