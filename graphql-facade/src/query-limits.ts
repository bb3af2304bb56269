/**
 * A validation rule bounding what one operation may ask: field depth, aliases and a static cost.
 *
 * Cost: each field costs the product of the list weights of the fields above it, where a field
 * returning a list of objects weighs LIST_WEIGHT (so `_entities { bars { close } }` costs
 * 1 + 10 + 100). Fragments are expanded where they are spread; introspection fields (`__schema`,
 * `__type`, `__typename`) are not counted, so tools and the gateway can always introspect. The walk
 * stops as soon as a limit is passed, so a fragment bomb costs no more than the limit to reject.
 */
import {
  GraphQLError,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type ASTVisitor,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

export const LIST_WEIGHT = 10;

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
}

class LimitExceeded extends Error {
  constructor(
    message: string,
    readonly limit: string,
  ) {
    super(message);
  }
}

interface Walk {
  context: ValidationContext;
  limits: QueryLimits;
  cost: number;
  aliases: number;
  fragmentsOnPath: Set<string>;
}

export function queryLimitsRule(limits: QueryLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const schema = context.getSchema();
      const root =
        node.operation === 'query' ? schema.getQueryType() : node.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
      if (!root) return;
      const walk: Walk = { context, limits, cost: 0, aliases: 0, fragmentsOnPath: new Set() };
      try {
        visit(walk, node.selectionSet, root, 1, 1);
      } catch (err) {
        if (!(err instanceof LimitExceeded)) throw err;
        context.reportError(new GraphQLError(err.message, { nodes: [node], extensions: { limit: err.limit } }));
      }
    },
  });
}

function visit(walk: Walk, selectionSet: SelectionSetNode, parent: GraphQLNamedType, depth: number, weight: number): void {
  const { limits } = walk;
  for (const selection of selectionSet.selections) {
    switch (selection.kind) {
      case Kind.FIELD: {
        const name = selection.name.value;
        if (name.startsWith('__')) continue;
        if (depth > limits.maxDepth) {
          throw new LimitExceeded(`query depth exceeds the limit FACADE_MAX_DEPTH=${limits.maxDepth}`, 'FACADE_MAX_DEPTH');
        }
        if (selection.alias && ++walk.aliases > limits.maxAliases) {
          throw new LimitExceeded(`query uses more than FACADE_MAX_ALIASES=${limits.maxAliases} aliases`, 'FACADE_MAX_ALIASES');
        }
        walk.cost += weight;
        if (walk.cost > limits.maxCost) {
          throw new LimitExceeded(
            `query cost exceeds the limit FACADE_MAX_COST=${limits.maxCost} (each field under a list weighs ${LIST_WEIGHT}× more); ask for fewer fields or split the query`,
            'FACADE_MAX_COST',
          );
        }
        const type = fieldType(parent, name);
        if (selection.selectionSet && type) {
          const list = isListType(getNullableType(type));
          visit(walk, selection.selectionSet, getNamedType(type), depth + 1, list ? weight * LIST_WEIGHT : weight);
        }
        break;
      }
      case Kind.INLINE_FRAGMENT: {
        const typeName = selection.typeCondition?.name.value;
        const type = typeName === undefined ? parent : (walk.context.getSchema().getType(typeName) ?? parent);
        visit(walk, selection.selectionSet, type, depth, weight);
        break;
      }
      case Kind.FRAGMENT_SPREAD: {
        const name = selection.name.value;
        const fragment = walk.context.getFragment(name);
        if (!fragment || walk.fragmentsOnPath.has(name)) continue; // cycles are NoFragmentCyclesRule's to report
        const type = walk.context.getSchema().getType(fragment.typeCondition.name.value) ?? parent;
        walk.fragmentsOnPath.add(name);
        try {
          visit(walk, fragment.selectionSet, type, depth, weight);
        } finally {
          walk.fragmentsOnPath.delete(name);
        }
        break;
      }
      default: {
        const unreachable: never = selection;
        throw new Error(`unknown selection ${JSON.stringify(unreachable)}`);
      }
    }
  }
}

function fieldType(parent: GraphQLNamedType, name: string): GraphQLOutputType | undefined {
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name]?.type : undefined;
}
