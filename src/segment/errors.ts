// The segment processor's error catalogue (src/errors.ts shape): stable codes, message
// templates, an HTTP status for when an error surfaces through an API, and whether retrying
// can help. docs/segment.md lists the same codes; test/errors.test.ts keeps them in step.
import { defineErrors } from '../errors.ts';

const errors = defineErrors('SegmentError', {
  SEG_INVALID_OPTION: { message: 'options.%s %s', status: 400, retriable: false },
  SEG_UNKNOWN_SEGMENT: { message: 'segment "%s" is not in topology "%s"', status: 404, retriable: false },
  SEG_NOT_RUNNING: { message: 'segment processor "%s" is not running', status: 409, retriable: false },
  SEG_WORKER_FAILED: { message: 'worker failed on partition %s (attempt %s): %s', status: 500, retriable: true },
  SEG_STORE_RETRY: { message: 'ClickHouse write for partition %s failed, retrying in %s ms: %s', status: 503, retriable: true },
  SEG_POISON: { message: 'undecodable message at partition %s offset %s sent to %s: %s', status: 422, retriable: false },
  SEG_OFFSET_GAP: { message: 'partition %s: expected offset %s but the log now starts at %s: messages were lost from the log before they were processed (most likely Kafka\'s retention; the local mock cluster keeps ~40k messages per partition), so their packets are missing from the results. To go on without them, reset the group\'s offset of this partition to the earliest kept message and restart; to avoid it, keep the consumer closer to the log (shorter local runs, more replicas, a longer retention)', status: 500, retriable: false },
  SEG_COMMIT_BEYOND_END: { message: 'partition %s: offsets below %s were processed (committed or stored) but the log now ends at %s: the topic was deleted and recreated, or its log was truncated from the end (an unclean leader election, a restored broker), so messages at those offsets now would never be read. Offsets no longer name the messages already stored: delete this partition\'s stored rows from the offset to resume at on, reset the group\'s offset of this partition to it, and restart (docs/segment.md, Failures)', status: 500, retriable: false },
  SEG_PARTITIONS_CHANGED: { message: 'topic %s had %s partitions when last committed and has %s now: vehicles would be counted in two partitions; restore the count, or reset the group and the segment\'s rows and reprocess', status: 409, retriable: false },
  SEG_PARTITION_STOPPED: { message: 'partition %s stopped: %s failed with %s, which retrying cannot fix: %s', status: 500, retriable: false },
  SEG_FENCED: { message: 'partition %s: lease (epoch %s) lost: %s; this member writes nothing more', status: 409, retriable: false },
  SEG_CRASHED: { message: 'segment processor "%s" stopped after a fatal error: %s', status: 500, retriable: false },
  SEG_ABORTED: { message: 'segment processor "%s" is stopping', status: 503, retriable: false },
});

export const SEGMENT_ERRORS = errors.catalogue;

export type SegmentErrorCode = keyof typeof SEGMENT_ERRORS;

export class SegmentError extends errors.Base {
  constructor(code: SegmentErrorCode, args: (string | number)[], options?: { cause?: unknown }) {
    super(code, args, options);
  }
}
