"""moto_server with the bridges the apply tier needs (moto 5.2.1 against hashicorp/aws 5.100).

Each bridge fills one gap of moto, never a difference in what the stack deploys: it answers as AWS
does (docs/testing.md, "moto gaps bridged", lists them). Patched in-process before moto.server.main
builds its routes. Usage: python3 moto_launcher.py -H 127.0.0.1 -p PORT
"""
import json
import sys
import uuid
from datetime import datetime, timezone
from urllib.parse import unquote

import moto
import moto.apigatewayv2.models as apigwv2_models
import moto.apigatewayv2.responses as apigwv2_responses
import moto.apigatewayv2.urls as apigwv2_urls
import moto.awslambda.models as lambda_models
import moto.batch.models as batch_models
import moto.events.models as events_models
import moto.events.responses as events_responses
import moto.server
import moto.stepfunctions.responses as sfn_responses

BRIDGES = []


def bridge(name):
    def register(fn):
        BRIDGES.append(name)
        fn()
        return fn

    return register


@bridge("apigatewayv2-deployments")
def _apigatewayv2_deployments():
    """(1) moto has no API Gateway v2 deployments (CreateDeployment 404) and its stages drop
    deploymentId: the WebSocket API's deployment and stage cannot apply. Deployments are kept per
    API, answered DEPLOYED, and the stage stores and returns the deployment it serves."""
    base = "{0}/v2/apis/(?P<api_id>[^/]+)/deployments"
    dispatch = apigwv2_responses.ApiGatewayV2Response.dispatch
    apigwv2_urls.url_paths[base + "$"] = dispatch
    apigwv2_urls.url_paths[base + "/(?P<deployment_id>[^/]+)$"] = dispatch

    def deployments_of(backend, api_id):
        api = backend.get_api(api_id)  # raises NotFound for an unknown API
        if not hasattr(api, "bridge_deployments"):
            api.bridge_deployments = {}
        return api.bridge_deployments

    def create_deployment(self):
        api_id = self.path.split("/")[-2]
        config = json.loads(self.body or "{}")
        deployment = {
            "deploymentId": uuid.uuid4().hex[:6],
            "deploymentStatus": "DEPLOYED",
            "createdDate": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "autoDeployed": False,
        }
        if config.get("description"):
            deployment["description"] = config["description"]
        deployments_of(self.apigatewayv2_backend, api_id)[deployment["deploymentId"]] = deployment
        stage_name = config.get("stageName")
        if stage_name:
            self.apigatewayv2_backend.get_stage(api_id, stage_name).config["deploymentId"] = deployment["deploymentId"]
        return 201, {}, json.dumps(deployment)

    def get_deployment(self):
        parts = self.path.split("/")
        deployment = deployments_of(self.apigatewayv2_backend, parts[-3]).get(unquote(parts[-1]))
        if deployment is None:
            return 404, {"x-amzn-ErrorType": "NotFoundException"}, json.dumps({"message": "Invalid Deployment identifier specified"})
        return 200, {}, json.dumps(deployment)

    def get_deployments(self):
        api_id = self.path.split("/")[-2]
        return 200, {}, json.dumps({"items": list(deployments_of(self.apigatewayv2_backend, api_id).values())})

    def update_deployment(self):
        parts = self.path.split("/")
        deployment = deployments_of(self.apigatewayv2_backend, parts[-3]).get(unquote(parts[-1]))
        if deployment is None:
            return 404, {"x-amzn-ErrorType": "NotFoundException"}, json.dumps({"message": "Invalid Deployment identifier specified"})
        config = json.loads(self.body or "{}")
        if "description" in config:
            deployment["description"] = config["description"]
        return 200, {}, json.dumps(deployment)

    def delete_deployment(self):
        parts = self.path.split("/")
        deployments_of(self.apigatewayv2_backend, parts[-3]).pop(unquote(parts[-1]), None)
        return 204, {}, ""

    def update_stage(self):
        parts = self.path.split("/")
        stage = self.apigatewayv2_backend.get_stage(parts[-3], unquote(parts[-1]))
        config = json.loads(self.body or "{}")
        stage.config.update(config)
        for key, attribute in [("accessLogSettings", "access_log_settings"), ("defaultRouteSettings", "default_route_settings"), ("description", "description"), ("routeSettings", "route_settings"), ("stageVariables", "stage_variables")]:
            if key in config:
                setattr(stage, attribute, config[key])
        stage.updated = datetime.now()
        return 200, {}, json.dumps(stage.to_json())

    for fn in [create_deployment, get_deployment, get_deployments, update_deployment, delete_deployment, update_stage]:
        setattr(apigwv2_responses.ApiGatewayV2Response, fn.__name__, fn)

    stage_to_json = apigwv2_models.Stage.to_json

    def to_json_with_deployment(self):
        out = stage_to_json(self)
        if self.config.get("deploymentId"):
            out["deploymentId"] = self.config["deploymentId"]
        return out

    apigwv2_models.Stage.to_json = to_json_with_deployment


@bridge("batch-service-role-optional")
def _batch_service_role_optional():
    """(2) moto's CreateComputeEnvironment demands serviceRole; AWS makes it optional and then uses
    the Batch service-linked role, whose ARN DescribeComputeEnvironments returns. So does this."""
    create = batch_models.BatchBackend.create_compute_environment

    def create_compute_environment(self, compute_environment_name, _type, state, compute_resources, service_role, tags=None):
        if not service_role:
            path = "/aws-service-role/batch.amazonaws.com/"
            role = next((r for r in self.iam_backend.roles.values() if r.path == path), None)
            if role is None:
                role = self.iam_backend.create_service_linked_role("batch.amazonaws.com", "", "")
            service_role = role.arn
        return create(self, compute_environment_name, _type, state, compute_resources, service_role, tags)

    batch_models.BatchBackend.create_compute_environment = create_compute_environment


@bridge("sfn-validate-state-machine-definition")
def _sfn_validate():
    """(3) ValidateStateMachineDefinition is not implemented (500); the provider calls it at plan
    and apply since 5.67. Answers OK with no diagnostics: the definition itself is checked by
    asl-validator and aws-local-stepfunctions in `npm test`, not here."""

    def validate_state_machine_definition(self):
        return json.dumps({"result": "OK", "diagnostics": [], "truncated": False})

    sfn_responses.StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition


@bridge("sfn-list-state-machine-versions")
def _sfn_versions():
    """(4) ListStateMachineVersions is not implemented (500); the provider reads it on every state
    machine read. Answers with the versions moto keeps (none unless published)."""

    def list_state_machine_versions(self):
        arn = self._get_param("stateMachineArn")
        machine = self.stepfunction_backend.describe_state_machine(arn)
        versions = [
            {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date.timestamp()}
            for v in sorted(machine.versions.values(), key=lambda v: -v.version)
        ]
        return json.dumps({"stateMachineVersions": versions})

    sfn_responses.StepFunctionResponse.list_state_machine_versions = list_state_machine_versions


@bridge("lambda-logging-config")
def _lambda_logging_config():
    """(5) moto never returns a function's LoggingConfig, so every function shows a logging_config
    diff after apply. AWS stores it, fills in the Text format and /aws/lambda/<name> group by
    default, and the INFO levels for the JSON format: so does this."""
    init = lambda_models.LambdaFunction.__init__
    get_configuration = lambda_models.LambdaFunction.get_configuration
    update_configuration = lambda_models.LambdaFunction.update_configuration

    def with_defaults(function_name, given):
        config = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function_name}", **(given or {})}
        if config["LogFormat"] == "JSON":
            config.setdefault("ApplicationLogLevel", "INFO")
            config.setdefault("SystemLogLevel", "INFO")
        else:
            config.pop("ApplicationLogLevel", None)
            config.pop("SystemLogLevel", None)
        return config

    def __init__(self, account_id, spec, region, version=1):
        init(self, account_id, spec, region, version)
        self.bridge_logging_config = with_defaults(self.function_name, spec.get("LoggingConfig"))

    def get_config(self, *args, **kwargs):
        config = get_configuration(self, *args, **kwargs)
        config["LoggingConfig"] = self.bridge_logging_config
        return config

    def update_config(self, config_updates):
        if "LoggingConfig" in config_updates:
            self.bridge_logging_config = with_defaults(self.function_name, {**self.bridge_logging_config, **config_updates["LoggingConfig"]})
        return update_configuration(self, config_updates)

    lambda_models.LambdaFunction.__init__ = __init__
    lambda_models.LambdaFunction.get_configuration = get_config
    lambda_models.LambdaFunction.update_configuration = update_config


@bridge("events-test-event-pattern")
def _events_test_event_pattern():
    """(6) TestEventPattern answers an empty body (a stub in moto), so the apply tier's check that
    each environment's rule matches its own queue's job events and no other's cannot ask it.
    Answers with moto's own matcher, the one PutEvents routes events with. Terraform never calls it."""

    def test_event_pattern(self):
        pattern = events_models.EventPattern.load(self._get_param("EventPattern"))
        return json.dumps({"Result": pattern.matches_event(json.loads(self._get_param("Event")))})

    events_responses.EventsHandler.test_event_pattern = test_event_pattern


if __name__ == "__main__":
    print(f"moto {moto.__version__} with bridges: {', '.join(BRIDGES)}", flush=True)
    moto.server.main(sys.argv[1:])
