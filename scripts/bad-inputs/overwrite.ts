/** Bad inputs of issue #23: overwrite. */
import type { Case } from './case.js';

export const cases: Case[] = [];
