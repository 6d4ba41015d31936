// The join page: room, name, camera/mic choices, optional token, and a live camera preview.

import { listMediaDevices, type NetworkQualityResult } from '@parley/client';
import { createCameraPreview } from './camera-preview.js';
import { deviceOptions } from './device-options.js';
import { fillDeviceSelect } from './device-picker.js';
import { cloneTemplate, findElement, findPart, type View } from './dom.js';
import { describeError } from './errors.js';
import { rememberDisplayName } from './identity.js';
import { describeNetworkResult } from './network-test.js';
import { roomNameProblem } from './room-name.js';

/** What the user asked for when pressing Join. */
export interface JoinRequest {
  room: string;
  name: string;
  /** A pasted access token, or undefined to ask the server for a dev token. */
  token: string | undefined;
  cameraOn: boolean;
  micOn: boolean;
  /** The devices picked on the join page; undefined for the browser's default. */
  cameraDeviceId: string | undefined;
  micDeviceId: string | undefined;
}

export interface JoinPageOptions {
  room: string;
  name: string;
  /** Attempts the join. Resolves once the attempt is over, successful or not; it reports its own errors. */
  onJoin(request: JoinRequest): Promise<void>;
  /** Shows why the form cannot be submitted yet. */
  onInvalid(message: string): void;
  /** Runs the pre-call network test ("Test my network"); aborted if the page goes away first. */
  testNetwork(signal: AbortSignal): Promise<NetworkQualityResult>;
}

export interface JoinPage extends View {
  /** Opens "I have a token" and focuses the token field, e.g. when the server has dev mode off. */
  revealTokenField(): void;
  /** Stops the preview, so the call's own capture has the camera to itself while joining. */
  pausePreview(): void;
  /** Starts the preview again (a join that failed), if the camera is ticked. */
  resumePreview(): void;
}

/** Used when the name field is left empty, so joining never fails for want of a name. */
const FALLBACK_DISPLAY_NAME = 'Guest';

export function createJoinPage(options: JoinPageOptions): JoinPage {
  const element = cloneTemplate('join-page-template');
  const form = findPart(element, 'form', HTMLFormElement);
  const roomInput = findElement(form, '[name="room"]', HTMLInputElement);
  const nameInput = findElement(form, '[name="name"]', HTMLInputElement);
  const cameraCheckbox = findElement(form, '[name="camera"]', HTMLInputElement);
  const micCheckbox = findElement(form, '[name="mic"]', HTMLInputElement);
  const cameraSelect = findElement(form, '[name="camera-device"]', HTMLSelectElement);
  const micSelect = findElement(form, '[name="mic-device"]', HTMLSelectElement);
  const tokenInput = findElement(form, '[name="token"]', HTMLTextAreaElement);
  const tokenDetails = findPart(form, 'token-details', HTMLDetailsElement);
  const joinButton = findPart(form, 'join-button', HTMLButtonElement);
  const heading = findElement(element, 'h1', HTMLHeadingElement);
  const networkTestButton = findPart(form, 'network-test-button', HTMLButtonElement);
  const networkTestResult = findPart(form, 'network-test-result', HTMLElement);
  const networkTestAbort = new AbortController();
  const preview = createCameraPreview(
    findElement(element, 'video', HTMLVideoElement),
    findPart(element, 'preview-message', HTMLElement),
  );
  let joining = false;

  roomInput.value = options.room;
  nameInput.value = options.name;

  async function startPreview(): Promise<void> {
    // Without a working camera the user can still join; untick the box so the SDK does not try
    // (and fail) to open it again. Ticking it again retries the preview.
    if (!(await preview.start(cameraSelect.value || undefined))) cameraCheckbox.checked = false;
    await refreshDevices();
  }

  /** Device names show once the browser has a permission (the preview asks for the camera's). */
  async function refreshDevices(): Promise<void> {
    const devices = await listMediaDevices().catch(() => undefined);
    if (!devices) return;
    fillDeviceSelect(cameraSelect, deviceOptions(devices.cameras, 'Camera'), preview.deviceId ?? (cameraSelect.value || undefined));
    fillDeviceSelect(micSelect, deviceOptions(devices.microphones, 'Microphone'), micSelect.value || undefined);
  }

  function readRequest(): JoinRequest {
    return {
      room: roomInput.value.trim(),
      name: nameInput.value.trim() || FALLBACK_DISPLAY_NAME,
      token: tokenInput.value.trim() || undefined,
      cameraOn: cameraCheckbox.checked,
      micOn: micCheckbox.checked,
      cameraDeviceId: cameraSelect.value || undefined,
      micDeviceId: micSelect.value || undefined,
    };
  }

  function setJoining(busy: boolean): void {
    joining = busy;
    joinButton.disabled = busy;
    joinButton.textContent = busy ? 'Joining…' : 'Join';
    form.setAttribute('aria-busy', String(busy));
  }

  cameraCheckbox.addEventListener('change', () => {
    if (cameraCheckbox.checked) void startPreview();
    else preview.stop();
  });
  cameraSelect.addEventListener('change', () => {
    if (cameraCheckbox.checked) void startPreview();
  });
  // Cameras and headsets plugged in or out while the page is open show up at once.
  const onDeviceChange = (): void => void refreshDevices();
  navigator.mediaDevices?.addEventListener('devicechange', onDeviceChange);

  // Editing the room name after an error removes the "invalid" styling right away.
  roomInput.addEventListener('input', () => roomInput.removeAttribute('aria-invalid'));

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (joining) return;
    const request = readRequest();
    const problem = roomNameProblem(request.room);
    if (problem) {
      roomInput.setAttribute('aria-invalid', 'true');
      roomInput.focus();
      options.onInvalid(problem);
      return;
    }
    rememberDisplayName(nameInput.value.trim());
    setJoining(true);
    void options.onJoin(request).finally(() => setJoining(false));
  });

  networkTestButton.addEventListener('click', () => void testNetwork());

  async function testNetwork(): Promise<void> {
    networkTestButton.disabled = true;
    networkTestButton.textContent = 'Testing…';
    networkTestResult.dataset.quality = 'testing';
    networkTestResult.textContent = 'Testing your network for a few seconds…';
    try {
      const result = await options.testNetwork(networkTestAbort.signal);
      networkTestResult.dataset.quality = result.quality;
      networkTestResult.textContent = describeNetworkResult(result);
    } catch (error) {
      if (networkTestAbort.signal.aborted) return;
      networkTestResult.dataset.quality = 'error';
      networkTestResult.textContent = `The network test did not finish. ${describeError(error)}`;
    } finally {
      networkTestButton.disabled = false;
      networkTestButton.textContent = 'Test my network';
    }
  }

  if (cameraCheckbox.checked) void startPreview();
  else {
    preview.stop();
    void refreshDevices();
  }

  return {
    element,
    focus: () => heading.focus(),
    dispose: () => {
      preview.stop();
      networkTestAbort.abort();
      navigator.mediaDevices?.removeEventListener('devicechange', onDeviceChange);
    },
    revealTokenField() {
      tokenDetails.open = true;
      tokenInput.focus();
    },
    pausePreview: () => preview.stop(),
    resumePreview: () => {
      if (cameraCheckbox.checked) void startPreview();
    },
  };
}
