import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';

/** What a workflow needs to know of a failed activity (or of its own error). */
export interface FailureView {
  /** `ApplicationFailure.type` (e.g. `HostUnreachable`), `StepTimedOut`, or `Error`. */
  type: string;
  message: string;
  retryable: boolean;
  /** The first detail of an ApplicationFailure (exit code, output tails, presented key…). */
  details: Record<string, unknown>;
}

export function failureOf(err: unknown): FailureView {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0];
    return {
      type: cause.type ?? 'Error',
      message: cause.message,
      retryable: cause.nonRetryable !== true,
      details: details && typeof details === 'object' ? (details as Record<string, unknown>) : {},
    };
  }
  if (cause instanceof TimeoutFailure) {
    // Most often a worker that died mid-activity: the next attempt resumes (see the host's journal).
    return {
      type: 'StepTimedOut',
      message: `timed out (${cause.timeoutType})`,
      retryable: true,
      details: {},
    };
  }
  return {
    type: 'Error',
    message: cause instanceof Error ? cause.message : String(cause),
    retryable: true,
    details: {},
  };
}
