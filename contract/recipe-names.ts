/**
 * The language images warmbox builds from a recipe (infra/images/<name>/recipe.json, built by
 * images/image-recipes.ts): the names POST /v1/images/build and `warmbox image build` accept.
 */
export type RecipeName = 'python' | 'gcc' | 'node';
export const RECIPE_NAMES: readonly RecipeName[] = ['python', 'gcc', 'node'];
