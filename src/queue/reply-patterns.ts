/**
 * @module queue/reply-patterns
 *
 * PowerMTA's `<smtp-pattern-list NAME>` (`reply /re/ ACTION…`), attached to
 * queues with `smtp-pattern-list NAME`: each remote reply of a delivery
 * attempt is tried against the rules in order; the first match gives the
 * actions the queue manager applies:
 *
 *   - `mode=backoff` / `mode=normal`: the queue's mode (backoff uses the
 *     `backoff-*` limits); `backoff-to-normal-after=T` on the rule (or the
 *     queue's `backoff-to-normal-after`) returns it to normal after T;
 *   - `bounce-rcpt`: the recipient is bounced even on a 4xx;
 *   - `bounce-queue`: every queued recipient of the queue is bounced;
 *   - `defer-queue`: the queue is not attempted again before its retry time;
 *   - anything else (`disable-source-ip`, …) is reported as not acted on.
 *
 * The reply is matched as `CODE ENHANCED TEXT` (e.g. `421 4.7.0 [TS01]
 * Messages from 192.0.2.1 temporarily deferred`); regexes are
 * case-insensitive unless written with `(?-i)` (config/values-regex.ts).
 *
 * Exports: `ReplyActions`, `replyActions`.
 */
import type { PetrelConfig } from '../config/model.js';
import { values } from '../config/model.js';
import type { PatternRule } from '../config/types.js';
import type { RemoteReply } from '../delivery/types.js';
import { parseDuration } from '../config/values.js';

export interface ReplyActions {
  readonly mode?: 'normal' | 'backoff';
  readonly backoffToNormalAfterMs?: number;
  readonly bounceRcpt?: boolean;
  readonly bounceQueue?: boolean;
  readonly deferQueue?: boolean;
  /** Actions recognised but not acted on, for the log. */
  readonly ignored?: readonly string[];
  /** The rule that matched, as written. */
  readonly rule: string;
}

/** The actions of the first rule of `listName` that matches the reply, or undefined. */
export function replyActions(config: PetrelConfig, listName: string | undefined, reply: RemoteReply): ReplyActions | undefined {
  if (!listName || reply.local) return undefined;
  const list = config.smtpPatternLists.get(listName);
  if (!list) return undefined;
  const text = `${reply.code}${reply.enhanced ? ' ' + reply.enhanced : ''} ${reply.text}`;
  for (const rule of values<PatternRule>(list, 'reply')) {
    if (!rule.regex.test(text)) continue;
    let mode: ReplyActions['mode'];
    let back: number | undefined;
    const ignored: string[] = [];
    let bounceRcpt = false;
    let bounceQueue = false;
    let deferQueue = false;
    for (const a of rule.actions) {
      switch (a.key) {
        case 'mode':
          if (a.value === 'backoff' || a.value === 'normal') mode = a.value;
          else ignored.push(`mode=${a.value}`);
          break;
        case 'backoff-to-normal-after': {
          const d = parseDuration({ raw: a.value ?? '', directive: 'backoff-to-normal-after' });
          if (d.ok) back = d.value;
          break;
        }
        case 'bounce-rcpt':
          bounceRcpt = true;
          break;
        case 'bounce-queue':
          bounceQueue = true;
          break;
        case 'defer-queue':
          deferQueue = true;
          break;
        default:
          ignored.push(a.value === undefined ? a.key : `${a.key}=${a.value}`);
      }
    }
    return {
      rule: `${rule.source} ${rule.actions.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`)).join(' ')}`,
      ...(mode ? { mode } : {}),
      ...(back !== undefined ? { backoffToNormalAfterMs: back } : {}),
      ...(bounceRcpt ? { bounceRcpt } : {}),
      ...(bounceQueue ? { bounceQueue } : {}),
      ...(deferQueue ? { deferQueue } : {}),
      ...(ignored.length ? { ignored } : {}),
    };
  }
  return undefined;
}
