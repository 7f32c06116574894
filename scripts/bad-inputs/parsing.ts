/** Bad inputs of issue #23: parsing. */
import type { Case } from './case.js';

export const cases: Case[] = [];
