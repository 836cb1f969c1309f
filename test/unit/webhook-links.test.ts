import { describe, expect, it } from 'vitest';
import { deliveryLinks, linksFor } from '../../gateway/links.js';
import { requestOrigin } from '../../gateway/tasks/delivery-targets.js';
import { eventType } from '../../worker/deliverers/webhook.js';

const webhook = { kind: 'webhook' as const, url: 'https://client.example/hook', events: ['completed' as const] };

describe('links in delivered documents', () => {
  it('are absolute from PUBLIC_URL (with its proxy path, then BASE_PATH), whatever the target', () => {
    const links = deliveryLinks(linksFor('/prediction', 'https://ml.example.com/edge'), { ...webhook, gateway_url: 'http://10.0.0.5:8000' });
    expect(links.status('t1')).toBe('https://ml.example.com/edge/prediction/task_status/t1');
    expect(links.artifact('t1', 'a b.png')).toBe('https://ml.example.com/edge/prediction/task_result/t1/artifacts/a%20b.png');
    expect(deliveryLinks(linksFor('/prediction', 'https://ml.example.com'), { kind: 'volume', path: '' }).result('t1')).toBe(
      'https://ml.example.com/prediction/task_result/t1',
    );
  });

  it('are absolute from the origin the submit reached without PUBLIC_URL, and paths when nothing is known', () => {
    expect(deliveryLinks(linksFor('/prediction'), { ...webhook, gateway_url: 'http://127.0.0.1:8000' }).status('t1')).toBe(
      'http://127.0.0.1:8000/prediction/task_status/t1',
    );
    expect(deliveryLinks(linksFor('/prediction'), webhook).status('t1')).toBe('/prediction/task_status/t1');
    expect(deliveryLinks(linksFor('/prediction'), { kind: 'volume', path: '' }).status('t1')).toBe('/prediction/task_status/t1');
  });

  it('take a request origin only when it is a plain scheme, host and port', () => {
    expect(requestOrigin('https', 'ML.example.com:443')).toBe('https://ml.example.com');
    expect(requestOrigin('http', '[::1]:3000')).toBe('http://[::1]:3000');
    expect(requestOrigin('http', undefined)).toBeUndefined();
    expect(requestOrigin('http', 'bad host')).toBeUndefined();
  });
});

describe('the webhook body type', () => {
  it('names the final notification by how the task ended, and notices by what they are', () => {
    expect(eventType({ event: 'completed', document: { status: 'SUCCESS' } })).toBe('task.completed');
    expect(eventType({ event: 'completed', document: { status: 'FAILURE' } })).toBe('task.failed');
    expect(eventType({ event: 'completed', document: { status: 'REVOKED' } })).toBe('task.revoked');
    expect(eventType({ event: 'started', document: { status: 'STARTED' } })).toBe('task.started');
    expect(eventType({ event: 'progress', document: { status: 'STARTED' } })).toBe('task.progress');
  });
});
