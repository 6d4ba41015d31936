// Small DOM helpers shared by the pages. Markup lives in index.html <template>s (see the comment
// there); these helpers clone it and find the parts the code needs, failing loudly when the HTML
// and the code disagree instead of silently doing nothing.

type ElementClass<T extends Element> = { new (): T; readonly prototype: T };

/** A clone of the first element inside `<template id="…">` in index.html. */
export function cloneTemplate(id: string): HTMLElement {
  const template = document.getElementById(id);
  if (!(template instanceof HTMLTemplateElement)) throw new Error(`index.html has no <template id="${id}">`);
  const clone = template.content.firstElementChild?.cloneNode(true);
  if (!(clone instanceof HTMLElement)) throw new Error(`<template id="${id}"> has no root element`);
  return clone;
}

/** The first element matching `selector` inside `root`, checked to be of the expected class. */
export function findElement<T extends Element>(root: ParentNode, selector: string, type: ElementClass<T>): T {
  const element = root.querySelector(selector);
  if (!(element instanceof type)) throw new Error(`expected a ${type.name} matching ${selector}`);
  return element;
}

/** The element marked `data-part="name"` inside `root`, checked to be of the expected class. */
export function findPart<T extends Element>(root: ParentNode, name: string, type: ElementClass<T>): T {
  return findElement(root, `[data-part="${name}"]`, type);
}

/** A page the app shows in <main>: the join form or the call. */
export interface View {
  readonly element: HTMLElement;
  /** Moves keyboard/screen-reader focus to the start of the view after switching pages. */
  focus(): void;
  /** Releases devices, timers and listeners; the element is discarded afterwards. */
  dispose(): void;
}
