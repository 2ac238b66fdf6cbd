export * from '../../local/apigw-vtl';
