import type { Request } from 'express';

/**
 * A browser navigating (its Accept puts text/html before JSON) gets pages; API clients, which ask
 * for JSON or for anything (`*\/*`, curl's default), get JSON — so no API answer changes for them.
 * The same test the submit route's redirect makes.
 */
export function prefersHtml(req: Request): boolean {
  return req.accepts(['json', 'html']) === 'html';
}
