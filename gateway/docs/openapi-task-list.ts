import { TASK_STATUSES } from '../../shared/index.js';
import { fail, INTERNAL_ERROR, schema, type Json } from './openapi-answers.js';

/** GET /tasks: the caller's task list (gateway/routes/task-list.ts). */
export function taskListPaths(): Record<string, Json> {
  const query = (name: string, description: string, type: Json): Json => ({ name, in: 'query', required: false, description, schema: type });
  return {
    '/tasks': {
      get: {
        operationId: 'listTasks',
        summary: "The caller's tasks, newest first",
        description:
          'With API_KEYS, the tasks of the key asking (an admin key too; the dashboard shows everyone’s); without keys, every task. ' +
          'A browser (Accept with text/html before JSON) gets the Tasks page instead of the JSON.',
        tags: ['tasks'],
        parameters: [
          query('status', 'Only tasks in this state', { type: 'string', enum: [...TASK_STATUSES] }),
          query('processor', 'Only tasks of this processor', { type: 'string' }),
          query('limit', 'Tasks per page (default 25)', { type: 'integer', minimum: 1, maximum: 100 }),
          query('cursor', '`next_cursor` of the previous page', { type: 'string' }),
        ],
        responses: {
          '200': {
            description: 'A page of tasks',
            content: { 'application/json': { schema: schema('TaskList') }, 'text/html': { schema: { type: 'string' } } },
          },
          '400': fail(['invalid_query'], 'A filter, limit or cursor with a bad value'),
          '500': INTERNAL_ERROR,
        },
      },
    },
  };
}
