import type Redis from 'ioredis';

export type Multi = ReturnType<Redis['multi']>;

/** Runs a MULTI and returns each command's reply; throws the first command error, or when the transaction aborted. */
export async function execOrThrow(multi: Multi): Promise<unknown[]> {
  const results = await multi.exec();
  if (!results) throw new Error('redis transaction aborted');
  const failed = results.find(([err]) => err);
  if (failed?.[0]) throw failed[0];
  return results.map(([, value]) => value);
}
