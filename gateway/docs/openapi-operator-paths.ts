import { fail, header, html, INTERNAL_ERROR, type Json } from './openapi-answers.js';

/**
 * Operator routes: Prometheus metrics at the root (outside BASE_PATH, where scrapers look), and the
 * dashboard when DASHBOARD is on. The dashboard's JSON is for its own page and for people at a
 * terminal; it is described loosely, not as a contract.
 */
export function operatorPaths({ dashboard }: { dashboard: boolean }): Record<string, Json> {
  const query = (name: string, description: string, type: Json): Json => ({ name, in: 'query', required: false, description, schema: type });
  const filters = [
    query('status', 'Only tasks in this state', { type: 'string' }),
    query('processor', 'Only tasks of this processor', { type: 'string' }),
    query('before', 'Epoch ms: only tasks created before it (the next page)', { type: 'integer', minimum: 1 }),
    query('limit', 'Tasks per page (default 50)', { type: 'integer', minimum: 1, maximum: 200 }),
  ];
  const invalidQuery = fail(['invalid_query']);
  const paths: Record<string, Json> = {
    '/metrics': {
      servers: [{ url: '/', description: 'At the root, not under BASE_PATH' }],
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics of this gateway',
        tags: ['health'],
        responses: {
          '200': { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
          '500': INTERNAL_ERROR,
        },
      },
    },
  };
  if (!dashboard) return paths;
  return {
    ...paths,
    '/dashboard': {
      get: {
        operationId: 'dashboard',
        summary: "The operator's dashboard (HTML)",
        description:
          'Task counts and recent tasks from the store, queue depths and dead letters from the broker. No authentication yet: DASHBOARD=off where the gateway is public.',
        tags: ['operators'],
        parameters: [
          ...filters,
          ...['redriven', 'skipped'].map((name) => query(name, 'Outcome of a redrive, shown as a notice', { type: 'integer', minimum: 0 })),
        ],
        responses: { '200': html('The dashboard'), '400': invalidQuery, '500': INTERNAL_ERROR },
      },
    },
    '/dashboard.json': {
      get: {
        operationId: 'dashboardData',
        summary: "The dashboard's data",
        tags: ['operators'],
        parameters: filters,
        responses: {
          '200': {
            description: 'generated_at, filters, counts, rate, broker (queues, dead letters), tasks, next_before',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          '400': invalidQuery,
          '500': INTERNAL_ERROR,
        },
      },
    },
    '/dashboard/dead-letters/redrive': {
      post: {
        operationId: 'redriveDeadLetters',
        summary: 'Send dead letters back to the queues they came from',
        description: 'Like every change, refused when a browser was made to send it from another site (Origin, Referer or Sec-Fetch-Site).',
        tags: ['operators'],
        requestBody: {
          required: false,
          content: Object.fromEntries(
            ['application/x-www-form-urlencoded', 'application/json'].map((type) => [
              type,
              {
                schema: {
                  type: 'object',
                  properties: { limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100, description: 'How many at most' } },
                },
              },
            ]),
          ),
        },
        responses: {
          '200': { description: 'Accept: application/json — redriven, skipped (with why)', content: { 'application/json': { schema: { type: 'object' } } } },
          '303': { description: 'A browser is sent back to the dashboard with the outcome', headers: { Location: header('Location') } },
          '400': fail(['invalid_body'], 'Bad JSON, or a limit that is not a whole number in range'),
          '403': fail(['cross_site_request']),
          '413': fail(['body_too_large', 'too_many_fields']),
          '415': fail(['unsupported_encoding']),
          '500': INTERNAL_ERROR,
          '503': fail(['broker_unavailable'], 'The envelope may add `redriven` and `skipped` when a pass stopped half-way', {
            'Retry-After': header('RetryAfter'),
          }),
        },
      },
    },
  };
}
