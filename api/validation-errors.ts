/**
 * Turns zod's issues into the API's errors: a request of the wrong shape is a 400 naming the field
 * (`limits.memoryBytes`), a well-formed value beyond a server bound is a 422 naming the field and the
 * bound (DESIGN.md: above the maximum is rejected, never clamped). Shape errors are reported first.
 */
import type { Context } from 'hono';
import type { z } from '@hono/zod-openapi';
import { MAX_LIMITS, MIN_LIMITS, type Limits } from '../contract/limits.js';
import { ApiError } from './errors.js';

type Issue = z.core.$ZodIssue;
type ValidationTarget = 'json' | 'query' | 'param' | 'header' | 'cookie' | 'form';

/** The zod-openapi `defaultHook`: throws the ApiError for a failed validation (mapped in app.onError). */
export function validationHook(result: { success: boolean; error?: unknown; target?: string }, _c: Context): void {
  if (result.success) return;
  const issues = (result.error as { issues?: Issue[] } | undefined)?.issues ?? [];
  throw validationError(issues, (result.target ?? 'json') as ValidationTarget);
}

export function validationError(issues: readonly Issue[], target: ValidationTarget = 'json'): ApiError {
  const where: Record<string, string> = target === 'json' ? {} : { in: target === 'param' ? 'path' : target };
  const shapeIssues = issues.filter((i) => !isOutOfRange(i));
  if (shapeIssues.length > 0 || issues.length === 0) {
    const listed = shapeIssues.map((i) => ({ field: issueField(i, target), message: issueMessage(i) }));
    const first = listed[0] ?? { field: '', message: 'invalid request' };
    return new ApiError(400, 'invalid_request', first.field ? `${first.field}: ${first.message}` : first.message, {
      ...where,
      field: first.field,
      issues: listed,
    });
  }
  return outOfRangeError(tightest(issues), target, where);
}

/**
 * The issue of the bound that binds: a value can break several (zod's own integer bound 2^53 - 1
 * and the server's maximum), and the answer states the one the schema was given.
 */
function tightest(issues: readonly Issue[]): Issue {
  const first = issues[0]!;
  const samePath = (i: Issue) => formatPath(i.path) === formatPath(first.path);
  const bound = (i: Issue) => (i.code === 'too_big' ? Number(i.maximum) : i.code === 'too_small' ? -Number(i.minimum) : Infinity);
  return issues.filter((i) => i.code === first.code && samePath(i)).reduce((a, b) => (bound(b) < bound(a) ? b : a));
}

/** too_big anywhere is a server bound; too_small is one only for limits (else: an empty cmd is a shape error). */
function isOutOfRange(issue: Issue): boolean {
  return issue.code === 'too_big' || (issue.code === 'too_small' && limitName(issue.path) !== undefined);
}

function outOfRangeError(issue: Issue, target: ValidationTarget, where: Record<string, string>): ApiError {
  const field = issueField(issue, target);
  const limit = limitName(issue.path);
  if (issue.code === 'too_small') {
    const minimum = limit !== undefined ? MIN_LIMITS[limit] : Number(issue.minimum);
    return new ApiError(422, 'below_minimum', `${field} is below the minimum ${minimum}`, { ...where, field, minimum });
  }
  if (issue.code !== 'too_big') throw new Error(`not an out-of-range issue: ${issue.code}`);
  // The server maximum of a limit, not zod's own bound (an unsafe integer trips that one first).
  const maximum = limit !== undefined ? MAX_LIMITS[limit] : Number(issue.maximum);
  const message =
    limit !== undefined || issue.origin === 'number' || issue.origin === 'int'
      ? `${field} is above the maximum ${maximum}`
      : issue.origin === 'array'
        ? `${field} has more than the maximum ${maximum} items`
        : issue.origin === 'string'
          ? `${field} is longer than the maximum ${maximum} characters`
          : `${field}: ${issue.message}`;
  return new ApiError(422, 'above_maximum', message, { ...where, field, maximum });
}

function limitName(path: readonly PropertyKey[]): keyof Limits | undefined {
  const [group, name] = path;
  return group === 'limits' && typeof name === 'string' && Object.hasOwn(MAX_LIMITS, name)
    ? (name as keyof Limits)
    : undefined;
}

/**
 * The dotted path of the field an issue is about; for unknown keys, the first unknown key. Outside
 * the body the first segment is a parameter's or a header's name, as sent: `last-event-id`.
 */
function issueField(issue: Issue, target: ValidationTarget): string {
  const path = issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined ? [...issue.path, issue.keys[0]] : issue.path;
  const [name, ...rest] = path;
  if (target === 'json' || typeof name !== 'string') return formatPath(path);
  const tail = formatPath(rest);
  return tail === '' || tail.startsWith('[') ? name + tail : `${name}.${tail}`;
}

function issueMessage(issue: Issue): string {
  if (issue.code === 'unrecognized_keys') return 'unknown field';
  if (issue.code === 'invalid_key') return `invalid name: ${issue.issues[0]?.message ?? issue.message}`;
  return issue.message;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][\w$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}
