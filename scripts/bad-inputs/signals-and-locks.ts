/** Bad inputs of issue #23: signals-and-locks. */
import type { Case } from './case.js';

export const cases: Case[] = [];
