/**
 * The API's OpenAPI document, generated from the routes' zod schemas and served at
 * /openapi.json. Registered before any route: @fastify/swagger learns the routes as they
 * are added.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/** Registers the document generator on `app` (the root: it must see every route) and GET /openapi.json. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Post-purchase campaign engine API',
        version: '1',
        description: 'Ingest of products, customers and orders. Money is a decimal string; times are ISO 8601 with a zone.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          // The storefront's recommendations (src/http/routes/storefront.ts): a public, read-only key.
          storefrontKey: { type: 'apiKey', in: 'header', name: 'X-Storefront-Key' },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
