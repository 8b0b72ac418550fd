/**
 * @module config/directives/spec
 *
 * `Spec`: a `DirectiveSpec` whose `area` is checked at compile time against
 * `AREAS`, so every per-area table file is type-checked against the same list
 * of sections that `docs/configuration.md` renders.
 */
import type { DirectiveSpec } from '../types.js';
import type { AreaName } from './areas.js';

export type Spec = DirectiveSpec & { readonly area: AreaName };
