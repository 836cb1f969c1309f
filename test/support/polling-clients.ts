import { submitForm, type StatusDocument, type Submitted } from './client.js';

/** Within an attempt a task only moves forward: PENDING, then STARTED or RETRY, then terminal. */
const RANK: Record<string, number> = { PENDING: 0, STARTED: 1, RETRY: 1, SUCCESS: 2, FAILURE: 2, REVOKED: 2 };

export interface PollingRun {
  /** Everything that went wrong, one line each; empty when all went well. */
  problems: string[];
  /** Tasks submitted, seen terminal and whose results were checked. */
  finished: number;
}

/**
 * The load that broke the original system's rpc result backend: `clients` clients at once, each
 * submitting `tasksPerClient` echo tasks in turn and polling task_status until terminal, each poll
 * going to the next gateway. Every status must be known (never a 404), never go backwards, end in
 * SUCCESS, and every gateway must then serve the task's result.
 */
export async function runPollingClients(gateways: readonly string[], clients: number, tasksPerClient: number, timeoutMs = 30_000): Promise<PollingRun> {
  const problems: string[] = [];
  let finished = 0;
  const at = (index: number): string => gateways[index % gateways.length]!;

  const pollUntilTerminal = async (item: string, taskId: string, first: number): Promise<StatusDocument | undefined> => {
    let seen: StatusDocument | undefined;
    const deadline = Date.now() + timeoutMs;
    for (let poll = first; ; poll += 1) {
      const answer = await fetch(`${at(poll)}/task_status/${taskId}`);
      if (answer.status !== 200) {
        problems.push(`${item}: task_status from ${at(poll)} answered ${answer.status}`);
        return seen;
      }
      const status = (await answer.json()) as StatusDocument;
      if (seen && (RANK[status.status]! < RANK[seen.status]! || status.attempts < seen.attempts)) {
        problems.push(`${item}: went back from ${seen.status}/${seen.attempts} to ${status.status}/${status.attempts} at ${at(poll)}`);
      }
      seen = status;
      if (RANK[status.status] === 2) return seen;
      if (Date.now() > deadline) {
        problems.push(`${item}: still ${status.status} after ${timeoutMs} ms`);
        return seen;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let n = 0; n < tasksPerClient; n += 1) {
        const item = `client-${client}-task-${n}`;
        const response = await submitForm(at(client + n), { item_a: item, item_b: String(n) });
        if (response.status !== 202) {
          problems.push(`submit ${item}: ${response.status}`);
          continue;
        }
        const { task_id } = (await response.json()) as Submitted;
        const status = await pollUntilTerminal(item, task_id, client + n);
        if (status?.status !== 'SUCCESS') problems.push(`${item}: ended ${status?.status ?? 'unseen'}`);
        for (const gateway of gateways) {
          const result = (await (await fetch(`${gateway}/task_result/${task_id}`)).json()) as { fields?: { item_a?: string } };
          if (result.fields?.item_a !== item) problems.push(`${item}: result from ${gateway} was ${JSON.stringify(result)}`);
        }
        finished += 1;
      }
    }),
  );
  return { problems, finished };
}
