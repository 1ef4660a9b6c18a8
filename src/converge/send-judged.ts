// One way to send a request of proxy-proxy's own (an undo, a catch-up, a drift repair) to a
// backend and judge its answer, so that every path agrees on what "done" means.
import type { Backend, OutgoingRequest, SendOptions } from '../backends/backend.js';
import type { BackendAnswer } from '../features/route.js';

/** 2xx is done; so is deleting what is already gone (404), as the smart proxy itself treats it. */
export function isDone(method: string, status: number): boolean {
  return (status >= 200 && status < 300) || (method === 'DELETE' && status === 404);
}

/**
 * true when the backend did it, otherwise why not in one line: 'HTTP <status> on <method>
 * <path>: <start of body>' for an answer, the transport error's code when there was none.
 * `then` may replace the first answer (e.g. clear a conflict and send again).
 */
export async function sendJudged(
  backend: Backend,
  request: OutgoingRequest,
  opts: SendOptions = {},
  then?: (answer: BackendAnswer) => Promise<BackendAnswer>,
): Promise<true | string> {
  try {
    let answer = await backend.send(request, opts);
    if (then) answer = await then(answer);
    if (isDone(request.method, answer.status)) return true;
    const path = request.path.split('?', 1)[0];
    const text = answer.body.toString('utf8').slice(0, 200).trim();
    return `HTTP ${answer.status} on ${request.method} ${path}${text ? `: ${text}` : ''}`;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** A refusal answered by the backend (as opposed to a backend that did not answer). */
export const isAnswered = (reason: string): boolean => reason.startsWith('HTTP ');
