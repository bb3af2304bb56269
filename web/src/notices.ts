/**
 * Problems shown in words at the top of the page, one line per topic ("chart", "watchlists",
 * "live", …): a newer notice on a topic replaces the older one, and clearing the topic removes it.
 * The page never goes blank; what failed says so here.
 */
import { el } from './dom.js';

export type NoticeLevel = 'error' | 'warning' | 'info';

export class Notices {
  private readonly lines = new Map<string, HTMLElement>();

  constructor(private readonly host: HTMLElement) {}

  show(topic: string, level: NoticeLevel, message: string): void {
    const line = el('div', { className: `notice notice-${level}`, attrs: { role: level === 'error' ? 'alert' : 'status', 'data-topic': topic } }, message);
    const old = this.lines.get(topic);
    if (old !== undefined) old.replaceWith(line);
    else this.host.append(line);
    this.lines.set(topic, line);
  }

  clear(topic: string): void {
    this.lines.get(topic)?.remove();
    this.lines.delete(topic);
  }
}

/** The message of anything thrown, for the page. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
