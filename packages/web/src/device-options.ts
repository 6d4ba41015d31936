// The choices of the device picker's lists. Nothing here touches the DOM (unit-tested).

export interface DeviceOption {
  value: string;
  label: string;
}

/**
 * One option per device, in the browser's order. Browsers hide labels until a device permission
 * is granted (and some give duplicates such as Chrome's "default" and "communications" entries
 * alongside the real device): unlabelled devices are numbered ("Camera 2").
 */
export function deviceOptions(devices: readonly Pick<MediaDeviceInfo, 'deviceId' | 'label'>[], noun: string): DeviceOption[] {
  const seen = new Set<string>();
  const options: DeviceOption[] = [];
  for (const device of devices) {
    if (seen.has(device.deviceId)) continue;
    seen.add(device.deviceId);
    options.push({ value: device.deviceId, label: device.label.trim() || `${noun} ${options.length + 1}` });
  }
  return options;
}

/** The option to show as selected: the device in use if listed, else the first (the browser's default). */
export function selectedDevice(options: readonly DeviceOption[], inUse: string | undefined): string | undefined {
  return options.find((option) => option.value === inUse)?.value ?? options[0]?.value;
}
