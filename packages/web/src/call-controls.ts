// The buttons at the bottom of the call: microphone, camera, screen share, invite link, leave.

import type { LocalParticipant } from '@parley/client';
import type { Banners } from './banners.js';
import { findPart } from './dom.js';
import { describeError, describeScreenShareError } from './errors.js';

export interface CallControlsOptions {
  root: HTMLElement;
  localParticipant: LocalParticipant;
  inviteLink: string;
  banners: Banners;
  onLeave(): void;
  /** Called after the microphone, camera or screen share was switched, so the self view can follow. */
  onLocalMediaChanged(): void;
}

export interface CallControls {
  /** Re-reads the local participant's state into the buttons (aria-pressed, tooltips). */
  refresh(): void;
  dispose(): void;
}

/** How long the Invite button says "Copied" before going back to "Invite". */
const COPIED_FEEDBACK_MS = 2000;

export function createCallControls(options: CallControlsOptions): CallControls {
  const { root, localParticipant: local, banners } = options;
  // Button listeners need no removal: the buttons are thrown away with the call page.
  let copiedFeedbackTimer: number | undefined;

  const microphone = createMediaToggle({
    button: findPart(root, 'toggle-mic', HTMLButtonElement),
    isEnabled: () => local.isMicrophoneEnabled,
    setEnabled: (enabled) => local.setMicrophoneEnabled(enabled),
    titleWhenOn: 'Mute microphone',
    titleWhenOff: 'Unmute microphone',
    onSettled: options.onLocalMediaChanged,
    onError: (error) => banners.showError(describeError(error)),
  });
  const camera = createMediaToggle({
    button: findPart(root, 'toggle-camera', HTMLButtonElement),
    isEnabled: () => local.isCameraEnabled,
    setEnabled: (enabled) => local.setCameraEnabled(enabled),
    titleWhenOn: 'Turn camera off',
    titleWhenOff: 'Turn camera on',
    onSettled: options.onLocalMediaChanged,
    onError: (error) => banners.showError(describeError(error)),
  });

  const screenButton = findPart(root, 'toggle-screen', HTMLButtonElement);
  // Phones and some embedded browsers cannot capture the screen at all.
  screenButton.hidden = typeof navigator.mediaDevices?.getDisplayMedia !== 'function';
  const screen = createMediaToggle({
    button: screenButton,
    isEnabled: () => local.isScreenShareEnabled,
    setEnabled: (enabled) => (enabled ? local.startScreenShare() : local.stopScreenShare()),
    titleWhenOn: 'Stop sharing your screen',
    titleWhenOff: 'Share your screen',
    onSettled: options.onLocalMediaChanged,
    onError: (error) => {
      const message = describeScreenShareError(error);
      if (message) banners.showError(message);
    },
  });

  const inviteButton = findPart(root, 'copy-invite', HTMLButtonElement);
  const inviteLabel = findPart(inviteButton, 'copy-invite-label', HTMLElement);
  inviteButton.title = `Copy ${options.inviteLink}`;
  inviteButton.addEventListener('click', () => {
    void copyInviteLink(options.inviteLink).then((copied) => {
      if (!copied) return;
      inviteLabel.textContent = 'Copied';
      banners.announce('Invite link copied');
      window.clearTimeout(copiedFeedbackTimer);
      copiedFeedbackTimer = window.setTimeout(() => (inviteLabel.textContent = 'Invite'), COPIED_FEEDBACK_MS);
    });
  });

  findPart(root, 'leave', HTMLButtonElement).addEventListener('click', () => options.onLeave());

  function refresh(): void {
    microphone.refresh();
    camera.refresh();
    screen.refresh();
  }
  refresh();

  return {
    refresh,
    dispose: () => window.clearTimeout(copiedFeedbackTimer),
  };
}

interface MediaToggleOptions {
  button: HTMLButtonElement;
  isEnabled(): boolean;
  setEnabled(enabled: boolean): Promise<void>;
  titleWhenOn: string;
  titleWhenOff: string;
  onSettled(): void;
  onError(error: unknown): void;
}

/**
 * A toggle button whose aria-pressed means "this device is on". The accessible name stays the
 * same ("Microphone", "Camera") and aria-pressed carries the state, as ARIA toggle buttons should.
 */
function createMediaToggle(options: MediaToggleOptions): { refresh(): void } {
  const { button } = options;

  function refresh(): void {
    const enabled = options.isEnabled();
    button.setAttribute('aria-pressed', String(enabled));
    button.title = enabled ? options.titleWhenOn : options.titleWhenOff;
  }

  button.addEventListener('click', () => {
    // While a switch is in progress (the camera can take a second to open) further clicks are
    // ignored. aria-busy rather than `disabled`, because disabling would throw keyboard focus away.
    if (button.getAttribute('aria-busy') === 'true') return;
    button.setAttribute('aria-busy', 'true');
    options
      .setEnabled(!options.isEnabled())
      .catch(options.onError)
      .finally(() => {
        button.removeAttribute('aria-busy');
        refresh();
        options.onSettled();
      });
  });

  return { refresh };
}

/**
 * Copies the link to the clipboard. The Clipboard API needs a secure page and permission; where it
 * is missing or refused, the link is shown in a prompt so it can still be copied by hand.
 * Resolves true when it was copied automatically.
 */
async function copyInviteLink(link: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(link);
    return true;
  } catch {
    window.prompt('Copy this invite link and send it to the people you want to talk to:', link);
    return false;
  }
}
