/** JSON that becomes the entry's `additional_data`. */
export type Data = unknown;

export interface BeatOptions {
  /** Seconds this process promises between beats. */
  interval?: number;
  /** `app` (long-running, the default) or `job`. */
  kind?: 'app' | 'job';
  /** Report an error with this message (status `error`). */
  error?: string;
  /** Report a clean stop (status `stopped`). */
  stopped?: boolean;
}

/** How beats leave this process: `http` to a serve at `$HBMON_URL`, else `cli` (`hbmon beat`). */
export function transport(): { kind: 'http'; url: string } | { kind: 'cli'; bin: string };

/** Writes one beat for `name`; `data` replaces `additional_data`. Rejects with hbmon's error line. */
export function beat(name: string, data?: Data, options?: BeatOptions): Promise<void>;

export interface HeartbeatOptions {
  interval?: number;
  kind?: 'app' | 'job';
  data?: Data;
  /** Turn SIGTERM, SIGINT and SIGHUP (where no listener is installed) into a clean stop. Default true. */
  handleSignals?: boolean;
}

export class Heartbeat {
  constructor(name: string, options?: HeartbeatOptions);
  readonly name: string;
  readonly interval: number;
  /** Writes the first beat; resolves once written. */
  start(): Promise<this>;
  /** Says "still making progress": at most one beat per interval/4 follows. */
  pulse(): void;
  /** Sets `additional_data` for the next beat. */
  setData(data: Data): void;
  /** Writes an `error` beat now. */
  error(message: string | Error): Promise<void>;
  /** Stops beating and writes a clean `stopped` beat. */
  stop(): Promise<void>;
}

export interface JobOptions {
  interval?: number;
}

/** Runs `fn` as one run of the job `name`: its start, then its end with exit code and duration. Returns fn's result; its rejection goes on. */
export function job<T>(name: string, fn: () => Promise<T> | T, options?: JobOptions): Promise<T>;
