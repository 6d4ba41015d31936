// The messages shown above every page: one error banner (role="alert"), one connection notice
// (role="status", e.g. "Reconnecting…") and an invisible announcer for screen readers.

import { cloneTemplate, findPart } from './dom.js';

export interface Banners {
  /** Shows `message` as the error banner, replacing any previous one. */
  showError(message: string): void;
  clearError(): void;
  /** Sets (or clears, with undefined) the visible connection notice. */
  setNotice(message: string | undefined): void;
  /** Tells screen-reader users about something that is already visible, e.g. "Invite link copied". */
  announce(message: string): void;
}

export function createBanners(page: Document): Banners {
  const notice = findPart(page, 'notice', HTMLElement);
  const announcer = findPart(page, 'announcer', HTMLElement);
  const container = notice.parentElement ?? page.body;
  let currentError: HTMLElement | undefined;

  function clearError(): void {
    currentError?.remove();
    currentError = undefined;
  }

  return {
    showError(message) {
      clearError();
      // A freshly inserted role="alert" element is announced by screen readers; reusing one
      // element and swapping its text is not announced reliably.
      const banner = cloneTemplate('error-banner-template');
      findPart(banner, 'text', HTMLElement).textContent = message;
      findPart(banner, 'dismiss', HTMLButtonElement).addEventListener('click', () => {
        if (currentError === banner) clearError();
      });
      container.prepend(banner);
      currentError = banner;
    },
    clearError,
    setNotice(message) {
      // The notice element stays in the document (CSS hides it while empty) so that screen readers
      // keep watching it as a live region.
      notice.textContent = message ?? '';
    },
    announce(message) {
      // Clearing first makes repeating the same message ("Invite link copied" twice) announce again.
      announcer.textContent = '';
      window.setTimeout(() => {
        announcer.textContent = message;
      }, 50);
    },
  };
}
