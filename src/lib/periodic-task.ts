import type { Logger } from './logger.ts';

/**
 * Runs `work` now and then every `intervalMs`, one run at a time. `stop` aborts a run in
 * progress and waits for it, so nothing touches resources its owner is about to close.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly work: (signal: AbortSignal) => Promise<unknown>,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.runOnce(), this.intervalMs);
    this.timer.unref();
    this.runOnce();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.abort.abort();
    await this.running;
  }

  private runOnce(): void {
    if (this.running || this.abort.signal.aborted) return;
    this.running = this.work(this.abort.signal)
      .then(
        () => undefined,
        (error: unknown) => {
          if (!this.abort.signal.aborted)
            this.log.error({ err: error, task: this.name }, `${this.name} failed`);
        },
      )
      .finally(() => {
        this.running = undefined;
      });
  }
}
