/**
 * The catalog index as a hub service: keeps the docs of the last scan, re-scans on demand and
 * (optionally) periodically, and tells readers when the docs changed. It is the scanner's
 * side of the search engine's `EsgfDocSource` contract (`generation()` + `docs()`,
 * catalog/esgf-index.ts), matched structurally.
 */
import type { Logger } from '../log/index.js';
import { scanCatalog, type EsgfDoc, type ScanOptions, type ScanResult } from './scanner.js';

/** Docs of the catalog; empty until the first scan has finished. */
export interface CatalogDocs {
  datasets: readonly EsgfDoc[];
  files: readonly EsgfDoc[];
}

/**
 * Runs scans and holds their result.
 *
 * Contract: `docs()` always returns the docs of the last *complete* scan (never a half-done
 * one) and the same arrays until a later scan changes something; `generation()` increases
 * exactly when they are replaced. `scan()` calls made while a scan runs share the next scan.
 * A scan that throws (only a configuration error can) keeps the previous docs.
 */
export class CatalogScanService {
  private result: ScanResult | null = null;
  private gen = 0;
  private running: Promise<ScanResult> | null = null;
  private queued: Promise<ScanResult> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly log: Logger | undefined;
  private readonly changeListeners = new Set<(generation: number) => void>();

  constructor(private readonly options: ScanOptions) {
    this.log = options.log;
  }

  /** Increases whenever `docs()` changes (0 before the first scan). */
  generation(): number {
    return this.gen;
  }

  docs(): CatalogDocs {
    return this.result ? { datasets: this.result.datasets, files: this.result.files } : { datasets: [], files: [] };
  }

  /** Calls `listener` after each scan that changed the docs (a new generation); returns its removal. */
  onChange(listener: (generation: number) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** The last complete scan (problems, stats, errata), or null before the first one. */
  last(): ScanResult | null {
    return this.result;
  }

  /** Scans now (or right after the running scan) and returns that scan's result. */
  scan(): Promise<ScanResult> {
    if (!this.running) {
      this.running = this.runOnce().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    this.queued ??= this.running.catch(() => undefined).then(() => {
      this.queued = null;
      return this.scan();
    });
    return this.queued;
  }

  private async runOnce(): Promise<ScanResult> {
    const r = await scanCatalog(this.options);
    const prev = this.result;
    const changed =
      prev === null || r.stats.filesRead > 0 || r.stats.filesDeleted > 0 ||
      r.datasets.length !== prev.datasets.length || r.files.length !== prev.files.length ||
      JSON.stringify(r.errata) !== JSON.stringify(prev.errata);
    if (changed) {
      this.result = r;
      this.gen++;
      for (const l of this.changeListeners) l(this.gen);
    } else {
      // Same docs: keep the old arrays (readers may hold indexes built on them), take the new report.
      this.result = { ...r, datasets: prev.datasets, files: prev.files };
    }
    return this.result;
  }

  /** Scans now, then every `intervalMs` (0 = only now). Errors are logged, never thrown. */
  start(intervalMs: number): void {
    const tick = (): void => {
      this.scan().catch((err: unknown) => this.log?.error({ err }, 'catalog: scan failed'));
    };
    tick();
    if (intervalMs > 0 && !this.timer) {
      this.timer = setInterval(tick, intervalMs);
      this.timer.unref();
    }
  }

  /** Stops periodic scans and waits for a running one. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.queued?.catch(() => undefined);
    await this.running?.catch(() => undefined);
  }
}
