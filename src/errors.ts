// One way to define an error catalogue (fastify lib/errors.js + kafkajs's `retriable`): each
// component lists its codes once, with the HTTP status it answers with, whether retrying can
// help, and a message template whose `%s` placeholders are filled in order. The gateway,
// segment, federation and cabin catalogues are all made here; test/errors.test.ts keeps every
// catalogue and its docs/<component>.md table in step.
//
// `status: null` marks an item-level code that has no HTTP answer of its own (the gateway's
// per-packet rejections travel inside a 200/422 response and are documented with `—`).

export interface ErrorDef {
  readonly status: number | null;
  readonly retriable: boolean;
  readonly message: string;
}

export type Catalogue<D extends Record<string, ErrorDef>> = {
  readonly [K in keyof D & string]: D[K] & { readonly code: K };
};

/** How a value appears inside a message; the default prints undefined as an empty string. */
export type ShowValue = (value: unknown) => string;

const showPlain: ShowValue = (v) => (v === undefined ? '' : String(v));

/** Fills `%s` placeholders in order. */
export function fillTemplate(template: string, args: readonly unknown[], show: ShowValue = showPlain): string {
  let i = 0;
  return template.replace(/%s/g, () => show(args[i++]));
}

/** The shape every catalogued error has, whatever its component. */
export class CatalogueError<C extends string = string> extends Error {
  readonly code: C;
  /** HTTP status of the answer carrying this error (0 for item-level codes). */
  readonly statusCode: number;
  readonly retriable: boolean;
  constructor(code: C, def: ErrorDef, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.statusCode = def.status ?? 0;
    this.retriable = def.retriable;
  }
}

export interface ErrorCatalogue<D extends Record<string, ErrorDef>> {
  /** Every code with its definition (and the code itself, for listing). */
  readonly catalogue: Catalogue<D>;
  /** The message of `code` with `args` filled in. */
  message(code: keyof D & string, args?: readonly unknown[]): string;
  /** Base class of the component's error: `class XError extends errors.Base { … }`. */
  readonly Base: new (code: keyof D & string, args?: readonly unknown[], options?: { cause?: unknown }) => CatalogueError<keyof D & string>;
}

export function defineErrors<const D extends Record<string, ErrorDef>>(
  name: string,
  defs: D,
  options: { show?: ShowValue } = {},
): ErrorCatalogue<D> {
  for (const code of Object.keys(defs)) {
    if (!/^[A-Z][A-Z0-9_]+$/.test(code)) throw new Error(`${name}: error code ${code} must be UPPER_SNAKE`);
  }
  const catalogue = Object.freeze(
    Object.fromEntries(Object.entries(defs).map(([code, def]) => [code, Object.freeze({ code, ...def })])),
  ) as Catalogue<D>;
  const show = options.show ?? showPlain;
  const message = (code: keyof D & string, args: readonly unknown[] = []) => fillTemplate(defs[code]!.message, args, show);
  class Base extends CatalogueError<keyof D & string> {
    constructor(code: keyof D & string, args: readonly unknown[] = [], opts?: { cause?: unknown }) {
      super(code, defs[code]!, message(code, args), opts);
      this.name = name;
    }
  }
  return { catalogue, message, Base };
}
