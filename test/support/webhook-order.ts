import { expect } from 'vitest';
import type { ReceivedWebhook, WebhookReceiver } from './webhook-receiver.js';

/**
 * What a receiver may see of one task's webhooks, checked the same way for every store and
 * however many gateways: the final notification last, after any started one was answered.
 */
export interface Attempt {
  event: string;
  outcome: string;
  error: { code: string } | null;
}

export async function attemptsOf(gatewayUrl: string, taskId: string): Promise<Attempt[]> {
  return ((await (await fetch(`${gatewayUrl}/task_deliveries/${taskId}/webhook`)).json()) as { attempts: Attempt[] }).attempts;
}

/** Settled: the final notification arrived and was reported, and the started one arrived too or was recorded as not sent. */
export async function settled(receiver: WebhookReceiver, gatewayUrl: string, taskId: string, path: string): Promise<ReceivedWebhook[]> {
  const final = (r: ReceivedWebhook): boolean => r.path === path && r.json.type !== 'task.started';
  await receiver.waitFor((all) => all.some(final), 30_000);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const requests = receiver.received.filter((r) => r.path === path);
    const attempts = await attemptsOf(gatewayUrl, taskId);
    // Both reports are in once every notification is answered and listed.
    const done = attempts.some((a) => a.event === 'started') && attempts.some((a) => a.event === 'completed');
    if (done && requests.every((r) => r.answeredAt !== undefined)) return requests;
    if (Date.now() > deadline) throw new Error(`started notification of ${taskId} never settled: ${JSON.stringify(attempts)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The order a receiver sees: the final notification last, after the started one was answered. */
export function expectInOrder(requests: ReceivedWebhook[], finalType: string, finalStatus: string): void {
  const started = requests.filter((r) => r.json.type === 'task.started');
  const finals = requests.filter((r) => r.json.type !== 'task.started');
  expect(finals.map((r) => [r.json.type, r.json.data.status])).toEqual([[finalType, finalStatus]]);
  expect(started.length).toBeLessThanOrEqual(1);
  for (const early of started) {
    expect(early.json.data.status).toBe('STARTED');
    expect(finals[0]!.receivedAt).toBeGreaterThanOrEqual(early.answeredAt!);
  }
  expect(requests.every((r) => r.verified)).toBe(true);
}

/** A started notice either went first or was not sent, and then its attempt says why. */
export function expectStartedSentOrSkipped(attempts: Attempt[]): string {
  const started = attempts.find((a) => a.event === 'started')!;
  if (started.outcome === 'SKIPPED') expect(started.error?.code).toMatch(/^(superseded|notice_expired|no_free_slot)$/);
  else expect(started.outcome).toBe('DELIVERED');
  return started.outcome;
}
