import {
  type ColumnDefinitionNode,
  DataTypeNode,
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  RawNode,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';

/**
 * Makes the tables PostgreSQL creates behave as SQLite's do, so the shared migrations stay
 * dialect-neutral and hold whatever locale the operator's database was created with:
 *
 * - every `text` column gets `COLLATE "C"`: comparisons and `ORDER BY` in byte order, as
 *   SQLite's default BINARY collation. The registry depends on it: tag and catalog pages continue
 *   after `last` in byte order (distribution spec), and a project's repositories are the range
 *   `name/` < r < `name0`, which a linguistic collation such as en_US breaks.
 * - `real` becomes `double precision`: SQLite's REAL is 8 bytes, PostgreSQL's 4, and a CVSS
 *   score of 9.8 stored in 4 bytes compares greater than 9.8.
 */
export class SqliteLikeDdlPlugin implements KyselyPlugin {
  private readonly transformer = new SqliteLikeDdlTransformer();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const kind = args.node.kind;
    if (kind !== 'CreateTableNode' && kind !== 'AlterTableNode') return args.node;
    return this.transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

class SqliteLikeDdlTransformer extends OperationNodeTransformer {
  protected override transformColumnDefinition(node: ColumnDefinitionNode): ColumnDefinitionNode {
    const transformed = super.transformColumnDefinition(node);
    if (!DataTypeNode.is(transformed.dataType)) return transformed;
    if (transformed.dataType.dataType === 'real')
      return { ...transformed, dataType: DataTypeNode.create('double precision') };
    if (transformed.dataType.dataType !== 'text') return transformed;
    return {
      ...transformed,
      frontModifiers: [...(transformed.frontModifiers ?? []), RawNode.createWithSql('collate "C"')],
    };
  }
}
