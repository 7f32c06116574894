/** Bad inputs of issue #23: index-and-seeds. */
import type { Case } from './case.js';

export const cases: Case[] = [];
