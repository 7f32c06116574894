/** Bad inputs of issue #23: fs-and-cache. */
import type { Case } from './case.js';

export const cases: Case[] = [];
