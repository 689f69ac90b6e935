/**
 * Shows a Notice (notifications.ts decided it) as a desktop notification;
 * clicking it opens the dashboard on the page the notice names. Glue only.
 */
import { Notification } from 'electron';
import type { Notice, NoticePage } from './notifications.js';

export class Notifier {
  /** Held until closed: a notification that is garbage-collected loses its click handler. */
  private readonly shown = new Map<string, Notification>();

  constructor(private readonly options: { icon?: string; open(page: NoticePage): void }) {}

  show(notice: Notice): void {
    if (!Notification.isSupported()) return;
    this.shown.get(notice.key)?.close();
    const notification = new Notification({
      title: notice.title,
      body: notice.body,
      ...(this.options.icon && process.platform !== 'darwin' ? { icon: this.options.icon } : {}),
    });
    notification.on('click', () => this.options.open(notice.page));
    notification.on('close', () => {
      if (this.shown.get(notice.key) === notification) this.shown.delete(notice.key);
    });
    this.shown.set(notice.key, notification);
    notification.show();
  }

  closeAll(): void {
    for (const notification of this.shown.values()) notification.close();
    this.shown.clear();
  }
}
