/** Bad inputs of issue #23: external. */
import type { Case } from './case.js';

export const cases: Case[] = [];
