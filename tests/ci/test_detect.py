"""CI detection: each provider from a realistic environment (as its docs describe it), the
run label and metadata it gives, and an upload that carries them to the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from junit2af.ci import PROVIDERS, CIInfo, default_label, detect_ci
from junit2af.cli import main

SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"

#: A build environment per provider, as its documentation and real logs show it, with
#: the noise around it (PATH, HOME, CI=true) that must not confuse detection.
ENVIRONMENTS: dict[str, tuple[dict[str, str], CIInfo]] = {
    "github-actions": (
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": "octo-org/octo-repo",
            "GITHUB_SHA": SHA,
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_REF_NAME": "main",
            "GITHUB_REF_TYPE": "branch",
            "GITHUB_HEAD_REF": "",
            "GITHUB_RUN_ID": "1658821493",
            "GITHUB_RUN_NUMBER": "42",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_JOB": "test",
            "GITHUB_WORKFLOW": "CI",
        },
        CIInfo(
            provider="GitHub Actions",
            repository="octo-org/octo-repo",
            commit=SHA,
            branch="main",
            build_id="1658821493",
            build_number="42",
            build_url="https://github.com/octo-org/octo-repo/actions/runs/1658821493",
            job="test",
            attempt="1",
        ),
    ),
    "gitlab-ci": (
        {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_SERVER_URL": "https://gitlab.example.com",
            "CI_PROJECT_PATH": "group/project",
            "CI_COMMIT_SHA": SHA,
            "CI_COMMIT_REF_NAME": "feature/login",
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/login",
            "CI_MERGE_REQUEST_IID": "17",
            "CI_PIPELINE_ID": "1000123",
            "CI_PIPELINE_IID": "311",
            "CI_PIPELINE_URL": "https://gitlab.example.com/group/project/-/pipelines/1000123",
            "CI_JOB_NAME": "unit tests",
            "CI_JOB_ID": "5550001",
        },
        CIInfo(
            provider="GitLab CI",
            repository="group/project",
            commit=SHA,
            branch="feature/login",
            pull_request="17",
            build_id="1000123",
            build_number="311",
            build_url="https://gitlab.example.com/group/project/-/pipelines/1000123",
            job="unit tests",
        ),
    ),
    "jenkins": (
        {
            "JENKINS_URL": "https://jenkins.example.com/",
            "JENKINS_HOME": "/var/jenkins_home",
            "BUILD_NUMBER": "128",
            "BUILD_ID": "128",
            "BUILD_TAG": "jenkins-shop-api-128",
            "BUILD_URL": "https://jenkins.example.com/job/shop/job/api/128/",
            "JOB_NAME": "shop/api",
            "GIT_COMMIT": SHA,
            "GIT_BRANCH": "origin/release-2.1",
            "GIT_URL": "https://git.example.com/shop/api.git",
            "EXECUTOR_NUMBER": "1",
        },
        CIInfo(
            provider="Jenkins",
            repository="https://git.example.com/shop/api.git",
            commit=SHA,
            branch="release-2.1",
            build_id="128",
            build_number="128",
            build_url="https://jenkins.example.com/job/shop/job/api/128/",
            job="shop/api",
        ),
    ),
    "circleci": (
        {
            "CI": "true",
            "CIRCLECI": "true",
            "CIRCLE_PROJECT_USERNAME": "acme",
            "CIRCLE_PROJECT_REPONAME": "rocket",
            "CIRCLE_REPOSITORY_URL": "git@github.com:acme/rocket.git",
            "CIRCLE_SHA1": SHA,
            "CIRCLE_BRANCH": "fix-thrust",
            "CIRCLE_PULL_REQUEST": "https://github.com/acme/rocket/pull/88",
            "CIRCLE_BUILD_NUM": "2044",
            "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/rocket/2044",
            "CIRCLE_JOB": "test-py311",
            "CIRCLE_WORKFLOW_ID": "6f1a7c52-8c0b-4d3e-a0b1-1b2c3d4e5f60",
        },
        CIInfo(
            provider="CircleCI",
            repository="acme/rocket",
            commit=SHA,
            branch="fix-thrust",
            pull_request="88",
            build_id="6f1a7c52-8c0b-4d3e-a0b1-1b2c3d4e5f60",
            build_number="2044",
            build_url="https://circleci.com/gh/acme/rocket/2044",
            job="test-py311",
        ),
    ),
    "azure-pipelines": (
        {
            "TF_BUILD": "True",
            "BUILD_REPOSITORY_NAME": "contoso/webapp",
            "BUILD_SOURCEVERSION": SHA,
            "BUILD_SOURCEBRANCH": "refs/tags/v3.0.0",
            "BUILD_SOURCEBRANCHNAME": "v3.0.0",
            "BUILD_BUILDID": "5521",
            "BUILD_BUILDNUMBER": "20240501.3",
            "SYSTEM_COLLECTIONURI": "https://dev.azure.com/contoso/",
            "SYSTEM_TEAMPROJECT": "Web App",
            "SYSTEM_JOBDISPLAYNAME": "Test on Linux",
            "SYSTEM_JOBATTEMPT": "2",
            "AGENT_JOBNAME": "Test on Linux",
        },
        CIInfo(
            provider="Azure Pipelines",
            repository="contoso/webapp",
            commit=SHA,
            tag="v3.0.0",
            build_id="5521",
            build_number="20240501.3",
            build_url="https://dev.azure.com/contoso/Web%20App/_build/results?buildId=5521",
            job="Test on Linux",
            attempt="2",
        ),
    ),
    "buildkite": (
        {
            "CI": "true",
            "BUILDKITE": "true",
            "BUILDKITE_ORGANIZATION_SLUG": "rails",
            "BUILDKITE_PIPELINE_SLUG": "rails",
            "BUILDKITE_REPO": "https://github.com/rails/rails.git",
            "BUILDKITE_COMMIT": SHA,
            "BUILDKITE_BRANCH": "main",
            "BUILDKITE_TAG": "",
            "BUILDKITE_PULL_REQUEST": "false",
            "BUILDKITE_BUILD_ID": "b81ed283-58b7-4925-aa4a-d3da0eafcf2b",
            "BUILDKITE_BUILD_NUMBER": "59034",
            "BUILDKITE_BUILD_URL": "https://buildkite.com/rails/rails/builds/59034",
            "BUILDKITE_LABEL": "activestorage (2.6)",
            "BUILDKITE_RETRY_COUNT": "0",
        },
        CIInfo(
            provider="Buildkite",
            repository="rails/rails",
            commit=SHA,
            branch="main",
            build_id="b81ed283-58b7-4925-aa4a-d3da0eafcf2b",
            build_number="59034",
            build_url="https://buildkite.com/rails/rails/builds/59034",
            job="activestorage (2.6)",
            attempt="1",
        ),
    ),
    "bitbucket-pipelines": (
        {
            "CI": "true",
            "BITBUCKET_BUILD_NUMBER": "77",
            "BITBUCKET_REPO_FULL_NAME": "team/service",
            "BITBUCKET_COMMIT": SHA,
            "BITBUCKET_BRANCH": "feature/x",
            "BITBUCKET_PR_ID": "9",
            "BITBUCKET_PIPELINE_UUID": "{a6a1b8f2-1c2d-4e5f-8a9b-0c1d2e3f4a5b}",
            "BITBUCKET_STEP_UUID": "{00000000-1111-2222-3333-444444444444}",
        },
        CIInfo(
            provider="Bitbucket Pipelines",
            repository="team/service",
            commit=SHA,
            branch="feature/x",
            pull_request="9",
            build_id="{a6a1b8f2-1c2d-4e5f-8a9b-0c1d2e3f4a5b}",
            build_number="77",
            build_url="https://bitbucket.org/team/service/pipelines/results/77",
        ),
    ),
    "teamcity": (
        {
            "TEAMCITY_VERSION": "2024.03 (build 156364)",
            "TEAMCITY_PROJECT_NAME": "Payments",
            "TEAMCITY_BUILDCONF_NAME": "Unit Tests",
            "BUILD_NUMBER": "1.4.211",
            "BUILD_VCS_NUMBER": SHA,
        },
        CIInfo(
            provider="TeamCity",
            repository="Payments",
            commit=SHA,
            build_number="1.4.211",
            job="Unit Tests",
        ),
    ),
    "travis-ci": (
        {
            "CI": "true",
            "TRAVIS": "true",
            "CONTINUOUS_INTEGRATION": "true",
            "TRAVIS_REPO_SLUG": "owner/lib",
            "TRAVIS_COMMIT": SHA,
            "TRAVIS_BRANCH": "master",
            "TRAVIS_PULL_REQUEST": "false",
            "TRAVIS_PULL_REQUEST_BRANCH": "",
            "TRAVIS_TAG": "",
            "TRAVIS_BUILD_ID": "889912",
            "TRAVIS_BUILD_NUMBER": "512",
            "TRAVIS_BUILD_WEB_URL": "https://app.travis-ci.com/owner/lib/builds/889912",
            "TRAVIS_JOB_NAME": "py3.12",
            "TRAVIS_JOB_NUMBER": "512.1",
        },
        CIInfo(
            provider="Travis CI",
            repository="owner/lib",
            commit=SHA,
            branch="master",
            build_id="889912",
            build_number="512",
            build_url="https://app.travis-ci.com/owner/lib/builds/889912",
            job="py3.12",
        ),
    ),
    "drone": (
        {
            "CI": "true",
            "DRONE": "true",
            "DRONE_REPO": "octocat/hello-world",
            "DRONE_COMMIT_SHA": SHA,
            "DRONE_BRANCH": "main",
            "DRONE_SOURCE_BRANCH": "feature/wave",
            "DRONE_PULL_REQUEST": "42",
            "DRONE_BUILD_NUMBER": "1234",
            "DRONE_BUILD_LINK": "https://drone.example.com/octocat/hello-world/1234",
            "DRONE_STAGE_NAME": "default",
            "DRONE_STEP_NAME": "test",
        },
        CIInfo(
            provider="Drone",
            repository="octocat/hello-world",
            commit=SHA,
            branch="feature/wave",
            pull_request="42",
            build_number="1234",
            build_url="https://drone.example.com/octocat/hello-world/1234",
            job="default",
        ),
    ),
    "woodpecker": (
        {
            "CI": "woodpecker",
            # Woodpecker also sets Drone's names for plugin compatibility in some versions.
            "DRONE": "true",
            "CI_REPO": "john-doe/my-repo",
            "CI_COMMIT_SHA": SHA,
            "CI_COMMIT_BRANCH": "main",
            "CI_COMMIT_TAG": "v1.2.0",
            "CI_PIPELINE_NUMBER": "8",
            "CI_PIPELINE_URL": "https://ci.example.com/repos/7/pipeline/8",
            "CI_WORKFLOW_NAME": "test",
        },
        CIInfo(
            provider="Woodpecker",
            repository="john-doe/my-repo",
            commit=SHA,
            branch="main",
            tag="v1.2.0",
            build_number="8",
            build_url="https://ci.example.com/repos/7/pipeline/8",
            job="test",
        ),
    ),
    "aws-codebuild": (
        {
            "CODEBUILD_BUILD_ID": "shop-tests:0b7a2f0e-3c1d-4e2f-9a8b-7c6d5e4f3a2b",
            "CODEBUILD_BUILD_NUMBER": "93",
            "CODEBUILD_RESOLVED_SOURCE_VERSION": SHA,
            "CODEBUILD_SOURCE_REPO_URL": "https://github.com/acme/shop",
            "CODEBUILD_SOURCE_VERSION": "pr/15",
            "CODEBUILD_WEBHOOK_TRIGGER": "pr/15",
            "CODEBUILD_WEBHOOK_HEAD_REF": "refs/heads/cart-fix",
            "AWS_REGION": "eu-west-1",
        },
        CIInfo(
            provider="AWS CodeBuild",
            repository="https://github.com/acme/shop",
            commit=SHA,
            branch="cart-fix",
            pull_request="15",
            build_id="shop-tests:0b7a2f0e-3c1d-4e2f-9a8b-7c6d5e4f3a2b",
            build_number="93",
            build_url="https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/projects/"
            "shop-tests/build/shop-tests%3A0b7a2f0e-3c1d-4e2f-9a8b-7c6d5e4f3a2b/"
            "?region=eu-west-1",
            job="shop-tests",
        ),
    ),
    "google-cloud-build": (
        {
            # Passed by the build config (options.env): Cloud Build sets none by itself.
            "BUILD_ID": "b5ca5f5e-8d3a-4c1a-9f1e-2a3b4c5d6e7f",
            "PROJECT_ID": "acme-ci",
            "COMMIT_SHA": SHA,
            "BRANCH_NAME": "main",
            "REPO_NAME": "shop",
            "TRIGGER_NAME": "push-to-main",
        },
        CIInfo(
            provider="Google Cloud Build",
            repository="shop",
            commit=SHA,
            branch="main",
            build_id="b5ca5f5e-8d3a-4c1a-9f1e-2a3b4c5d6e7f",
            build_url="https://console.cloud.google.com/cloud-build/builds/"
            "b5ca5f5e-8d3a-4c1a-9f1e-2a3b4c5d6e7f?project=acme-ci",
            job="push-to-main",
        ),
    ),
}

BASE = {"PATH": "/usr/bin:/bin", "HOME": "/home/runner", "LANG": "C.UTF-8"}


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_each_provider_is_detected_from_its_environment(name):
    environ, expected = ENVIRONMENTS[name]
    assert detect_ci({**BASE, **environ}) == expected


def test_every_provider_has_an_environment_here():
    providers = {expected.provider for _, expected in ENVIRONMENTS.values()}
    assert providers == set(PROVIDERS)


def test_nothing_detected_outside_ci():
    assert detect_ci(BASE) is None
    assert detect_ci({**BASE, "CI": "true"}) is None  # generic CI=true names no provider
    assert default_label(None, "junit.xml 2024-05-01") == "junit.xml 2024-05-01"


def test_empty_values_count_as_unset():
    environ, _ = ENVIRONMENTS["github-actions"]
    info = detect_ci({**environ, "GITHUB_RUN_ATTEMPT": "", "GITHUB_JOB": "  "})
    assert info is not None and info.attempt is None and info.job is None
    assert detect_ci({"GITHUB_ACTIONS": "false"}) is None


def test_github_pull_request_uses_the_head_branch_and_the_ref_number():
    environ, _ = ENVIRONMENTS["github-actions"]
    info = detect_ci(
        {
            **environ,
            "GITHUB_REF": "refs/pull/123/merge",
            "GITHUB_REF_NAME": "123/merge",
            "GITHUB_HEAD_REF": "feature/speedup",
            "GITHUB_RUN_ATTEMPT": "3",
        }
    )
    assert info is not None
    assert (info.branch, info.pull_request, info.attempt) == ("feature/speedup", "123", "3")
    assert default_label(info) == "GitHub Actions #42 attempt 3 (feature/speedup, PR #123) [test]"


def test_github_tag_build():
    environ, _ = ENVIRONMENTS["github-actions"]
    info = detect_ci(
        {
            **environ,
            "GITHUB_REF": "refs/tags/v2.0",
            "GITHUB_REF_NAME": "v2.0",
            "GITHUB_REF_TYPE": "tag",
        }
    )
    assert info is not None and (info.branch, info.tag) == (None, "v2.0")


def test_travis_pull_request_takes_the_source_branch():
    environ, _ = ENVIRONMENTS["travis-ci"]
    info = detect_ci(
        {**environ, "TRAVIS_PULL_REQUEST": "31", "TRAVIS_PULL_REQUEST_BRANCH": "topic"}
    )
    assert info is not None and (info.branch, info.pull_request) == ("topic", "31")


def test_azure_pull_request_number_and_source_branch():
    environ, _ = ENVIRONMENTS["azure-pipelines"]
    info = detect_ci(
        {
            **environ,
            "BUILD_SOURCEBRANCH": "refs/pull/64/merge",
            "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER": "64",
            "SYSTEM_PULLREQUEST_SOURCEBRANCH": "refs/heads/topic/a",
        }
    )
    assert info is not None
    assert (info.branch, info.tag, info.pull_request) == ("topic/a", None, "64")


def test_jenkins_multibranch_pull_request():
    environ, _ = ENVIRONMENTS["jenkins"]
    info = detect_ci({**environ, "BRANCH_NAME": "PR-5", "CHANGE_ID": "5", "CHANGE_BRANCH": "x"})
    assert info is not None and (info.branch, info.pull_request) == ("x", "5")


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("github-actions", "GitHub Actions #42 (main) [test]"),
        ("gitlab-ci", "GitLab CI #311 (feature/login, PR #17) [unit tests]"),
        ("azure-pipelines", "Azure Pipelines #20240501.3 attempt 2 (v3.0.0) [Test on Linux]"),
        (
            "google-cloud-build",
            "Google Cloud Build #b5ca5f5e-8d3a-4c1a-9f1e-2a3b4c5d6e7f (main) [push-to-main]",
        ),
        ("teamcity", "TeamCity #1.4.211 [Unit Tests]"),
    ],
)
def test_default_label_names_the_build(name, label):
    info = detect_ci(ENVIRONMENTS[name][0])
    assert default_label(info, "fallback") == label


def test_default_label_fits_the_api_bounds():
    long = CIInfo(provider="GitLab CI", build_number="1", job="j" * 400)
    label = default_label(long)
    assert label is not None and len(label) == 255 and label.endswith("…")
    assert default_label(CIInfo(provider="X"), "fallback") == "fallback"  # 1 code point


def test_metadata_has_only_the_known_keys():
    info = detect_ci(ENVIRONMENTS["teamcity"][0])
    assert info is not None
    assert info.metadata() == {
        "ci_provider": "TeamCity",
        "ci_repository": "Payments",
        "ci_commit": SHA,
        "ci_build_number": "1.4.211",
        "ci_job": "Unit Tests",
    }


def _env_for(server, extra):
    return {
        **{key: None for environ, _ in ENVIRONMENTS.values() for key in environ},
        "AF_API_URL": server.base_url,
        "AF_API_KEY": server.api_key,
        "AF_PROJECT_ID": server.project_id,
        **extra,
    }


REPORT = """<?xml version="1.0"?>
<testsuite name="s" timestamp="2024-05-01T10:00:00Z">
  <testcase classname="m" name="test_ok" time="0.1"/>
</testsuite>
"""


def test_upload_in_ci_carries_the_build_into_label_and_metadata(local_server, tmp_path):
    report = tmp_path / "junit.xml"
    report.write_text(REPORT)
    environ, _ = ENVIRONMENTS["github-actions"]
    result = CliRunner().invoke(
        main,
        [
            "upload",
            "--json",
            "--journal",
            str(tmp_path / "j.sqlite3"),
            "--metadata",
            "ci_branch=overridden",
            str(report),
        ],
        env=_env_for(local_server, environ),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    run = local_server.admin.run(summary["run_id"])
    assert run["label"] == "GitHub Actions #42 (main) [test]"
    metadata = run["metadata"]
    assert metadata["ci_provider"] == "GitHub Actions"
    assert metadata["ci_commit"] == SHA
    assert metadata["ci_build_url"].endswith("/actions/runs/1658821493")
    assert metadata["ci_branch"] == "overridden"  # --metadata wins over detection


def test_upload_outside_ci_has_no_ci_keys(local_server, tmp_path: Path):
    report = tmp_path / "junit.xml"
    report.write_text(REPORT)
    result = CliRunner().invoke(
        main,
        ["upload", "--json", "--journal", str(tmp_path / "j.sqlite3"), str(report)],
        env=_env_for(local_server, {}),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    run = local_server.admin.run(json.loads(result.stdout)["run_id"])
    assert run["label"] == "junit.xml 2024-05-01"
    assert not [key for key in run["metadata"] if key.startswith("ci_")]
