import type { Actor } from '../../platform/auth/actor.js';
import { TnyError, validationError } from '../../platform/errors.js';
import { checkCategoryFields, checkCategoryName, type Category, type CategoryInput } from '../category.js';
import type { NotifierContext } from '../context.js';
import { checkLimit, decodeKeyCursor, encodeKeyCursor, toPage, type Page } from '../cursor.js';

export function categoryNotFound(name: string): TnyError {
  return new TnyError('CATEGORY_NOT_FOUND', { message: `no category has the name "${name}"` });
}

function checked(input: CategoryInput) {
  const result = checkCategoryFields(input);
  if (!result.value) throw validationError(result.problems);
  return result.value;
}

export async function createCategory(ctx: NotifierContext, actor: Actor, name: string, input: CategoryInput): Promise<Category> {
  const problems = checkCategoryName(name);
  const fields = checkCategoryFields(input);
  if (problems.length > 0 || !fields.value) throw validationError([...problems, ...fields.problems]);
  const created = await ctx.stores.categories.insert(actor.accountId, name, fields.value, ctx.clock.now());
  if (created === 'conflict') throw new TnyError('CATEGORY_EXISTS', { message: `a category named "${name}" exists` });
  return created;
}

export async function getCategory(ctx: NotifierContext, actor: Actor, name: string): Promise<Category> {
  const category = await ctx.stores.categories.find(actor.accountId, name);
  if (!category) throw categoryNotFound(name);
  return category;
}

/** Replaces every field (PUT): a field left out goes back to its default. */
export async function replaceCategory(ctx: NotifierContext, actor: Actor, name: string, input: CategoryInput): Promise<Category> {
  const updated = await ctx.stores.categories.update(actor.accountId, name, checked(input), ctx.clock.now());
  if (!updated) throw categoryNotFound(name);
  return updated;
}

export async function deleteCategory(ctx: NotifierContext, actor: Actor, name: string): Promise<void> {
  if (!(await ctx.stores.categories.delete(actor.accountId, name))) throw categoryNotFound(name);
}

export async function listCategories(ctx: NotifierContext, actor: Actor, input: { limit?: number; cursor?: string }): Promise<Page<Category>> {
  const limit = checkLimit(input.limit);
  const after = input.cursor !== undefined ? decodeKeyCursor('categories', input.cursor, 1)[0]! : null;
  const rows = await ctx.stores.categories.list(actor.accountId, after, limit + 1);
  return toPage(rows, limit, (last) => encodeKeyCursor('categories', [last.name]));
}
