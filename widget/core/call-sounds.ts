/**
 * Which sounds a change in the call makes: someone joining, someone leaving, someone raising a hand
 * (never for ourselves, never for who was already there when we arrived). Pure: the view hands in
 * the participant list before and after.
 */
import type { Person } from './projection.ts';

export type Sound = 'join' | 'leave' | 'hand';

export function soundsFor(before: readonly Person[] | undefined, after: readonly Person[]): Sound[] {
  // Our arrival: whoever is there is not news.
  if (before === undefined) return [];
  const others = (list: readonly Person[]): Person[] => list.filter((p) => !p.local && !p.unreachable);
  const was = new Map(others(before).map((p) => [p.identity, p]));
  const now = new Map(others(after).map((p) => [p.identity, p]));
  const out: Sound[] = [];
  if ([...now.keys()].some((id) => !was.has(id))) out.push('join');
  if ([...was.keys()].some((id) => !now.has(id))) out.push('leave');
  if (
    [...now.values()].some(
      (p) => p.hand !== undefined && was.get(p.identity)?.hand === undefined && was.has(p.identity),
    )
  )
    out.push('hand');
  return out;
}
