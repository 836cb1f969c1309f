import { TASK_STATUSES } from '../../shared/index.js';
import { fail, INTERNAL_ERROR, parameter, schema, type Json } from './openapi-answers.js';

/** GET /tasks: the caller's task list (gateway/routes/task-list.ts); and the uploads a task page shows (routes/tasks.ts). */
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
    '/tasks/{id}/inputs/{index}': {
      get: {
        operationId: 'taskInput',
        summary: 'One uploaded file of a task',
        description:
          'By its index in the submission, for the task page (OCR word boxes over the image). Only uploads kept on the volume (UPLOAD_STORE=volume). PNG, JPEG, GIF and WebP inline, anything else as an attachment.',
        tags: ['pages'],
        parameters: [parameter('TaskId'), { name: 'index', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } }],
        responses: {
          '200': { description: 'The file as uploaded, with the type sniffed from its bytes', content: { '*/*': {} } },
          '400': fail(['invalid_task_id'], 'Task ids are UUIDs'),
          '404': fail(['task_not_found', 'input_not_found']),
          '500': INTERNAL_ERROR,
        },
      },
    },
  };
}
