// drizzle-kit reads this to generate migrations from src/db/schema.ts into drizzle/.
// The engine applies them itself with `campaign db migrate` (on Postgres or PGlite).
import { defineConfig } from 'drizzle-kit';
import { loadConfig } from './src/config.ts';

const config = loadConfig();

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
  dbCredentials: { url: config.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test' },
  strict: true,
});
