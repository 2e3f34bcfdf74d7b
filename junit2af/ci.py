"""Which CI system is running junit2af, read from the variables it documents.

:func:`detect_ci` turns an environment (any mapping: tests pass dicts) into a
:class:`CIInfo`, or ``None`` outside CI; :meth:`CIInfo.metadata` is what goes into the
run's metadata and :func:`default_label` the run label used when ``--label`` is not given.

This module is the one documented exception to "every environment variable name lives in
settings.py": the names below are the CI providers' own (one reader per provider, each
next to the page it follows), not junit2af's settings, and keeping each provider's names
beside the logic that reads them is what makes a provider reviewable against its docs.

The run metadata is flat, each key prefixed ``ci_`` (``ci_provider``, ``ci_commit``...),
so that ``--metadata ci_branch=release`` overrides one of them like any other key.
Only the keys whose value is known are present.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from urllib.parse import quote

#: Bounds the API puts on a run label, in code points.
LABEL_MIN, LABEL_MAX = 2, 255


@dataclass(frozen=True)
class CIInfo:
    """What junit2af knows about the CI build it runs in; ``None`` is "not known"."""

    provider: str
    repository: str | None = None
    commit: str | None = None
    branch: str | None = None
    tag: str | None = None
    pull_request: str | None = None
    build_id: str | None = None
    build_number: str | None = None
    build_url: str | None = None
    job: str | None = None
    attempt: str | None = None

    def metadata(self) -> dict[str, str]:
        """The known fields as run metadata: ``{"ci_provider": ..., "ci_commit": ...}``."""
        return {
            f"ci_{f.name}": value
            for f in fields(self)
            if (value := getattr(self, f.name)) is not None
        }


def default_label(info: CIInfo | None, fallback: str | None = None) -> str | None:
    """The run label for ``info``: ``GitHub Actions #42 (main) [test]``, else ``fallback``.

    Built only from the build's number, attempt, ref and job, never from the clock, so a
    re-run of the same CI job computes the same label (the label is part of the upload's
    identity in the journal). An attempt after the first is shown (``#42 attempt 2``).
    """
    if info is None:
        return fallback
    label = info.provider
    number = info.build_number or info.build_id
    if number:
        label += f" #{number}"
    if info.attempt and info.attempt not in ("0", "1"):
        label += f" attempt {info.attempt}"
    refs = [r for r in (info.branch or info.tag, _pr(info.pull_request)) if r]
    if refs:
        label += f" ({', '.join(refs)})"
    if info.job:
        label += f" [{info.job}]"
    if len(label) > LABEL_MAX:
        label = label[: LABEL_MAX - 1] + "…"
    return label if len(label) >= LABEL_MIN else fallback


def _pr(number: str | None) -> str | None:
    return f"PR #{number}" if number else None


def detect_ci(environ: Mapping[str, str]) -> CIInfo | None:
    """The CI system described by ``environ``, or ``None`` when none is recognised.

    Providers are tried in a fixed order: the specific markers first (``GITHUB_ACTIONS``,
    ``GITLAB_CI``, ``TEAMCITY_VERSION``...), and the ones whose variables are generic
    (Jenkins' ``BUILD_NUMBER``, Cloud Build's ``BUILD_ID``) last.
    """
    env = _Env(environ)
    for marker, reader in _PROVIDERS:
        if marker(env):
            return reader(env)
    return None


class _Env:
    """Read-only view that treats empty values as absent (CI systems set many to "")."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def __call__(self, *names: str) -> str | None:
        for name in names:
            value = self._environ.get(name, "").strip()
            if value:
                return value
        return None

    def true(self, name: str) -> bool:
        return (self(name) or "").lower() in ("true", "1", "yes")


def _number_in_ref(ref: str | None) -> str | None:
    """``refs/pull/123/merge`` (GitHub, Azure) and ``refs/merge-requests/7/head`` -> number."""
    if not ref:
        return None
    match = re.match(r"refs/(?:pull|merge-requests)/(\d+)/", ref)
    return match.group(1) if match else None


def _strip_ref(ref: str | None) -> tuple[str | None, str | None]:
    """``refs/heads/x`` -> (branch x, None); ``refs/tags/v1`` -> (None, v1)."""
    if not ref:
        return None, None
    if ref.startswith("refs/heads/"):
        return ref[len("refs/heads/") :], None
    if ref.startswith("refs/tags/"):
        return None, ref[len("refs/tags/") :]
    if ref.startswith("refs/"):
        return None, None
    return ref, None


def _not_false(value: str | None) -> str | None:
    """Travis and Buildkite write ``false`` where there is no pull request."""
    return None if value in (None, "false") else value


# -- one reader per provider -------------------------------------------------------------


def _github(env: _Env) -> CIInfo:
    # https://docs.github.com/actions/learn-github-actions/variables#default-environment-variables
    repository = env("GITHUB_REPOSITORY")
    run_id = env("GITHUB_RUN_ID")
    server = env("GITHUB_SERVER_URL") or "https://github.com"
    ref_type = env("GITHUB_REF_TYPE")
    pull = _number_in_ref(env("GITHUB_REF"))
    return CIInfo(
        provider="GitHub Actions",
        repository=repository,
        commit=env("GITHUB_SHA"),
        # On a pull_request event GITHUB_REF_NAME is "123/merge": the head branch is better.
        branch=env("GITHUB_HEAD_REF") or (env("GITHUB_REF_NAME") if ref_type == "branch" else None),
        tag=env("GITHUB_REF_NAME") if ref_type == "tag" else None,
        pull_request=pull,
        build_id=run_id,
        build_number=env("GITHUB_RUN_NUMBER"),
        build_url=f"{server}/{repository}/actions/runs/{run_id}" if repository and run_id else None,
        job=env("GITHUB_JOB"),
        attempt=env("GITHUB_RUN_ATTEMPT"),
    )


def _gitlab(env: _Env) -> CIInfo:
    # https://docs.gitlab.com/ee/ci/variables/predefined_variables.html
    return CIInfo(
        provider="GitLab CI",
        repository=env("CI_PROJECT_PATH"),
        commit=env("CI_COMMIT_SHA"),
        # CI_COMMIT_BRANCH is unset in merge request pipelines; the source branch is set.
        branch=env("CI_COMMIT_BRANCH", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"),
        tag=env("CI_COMMIT_TAG"),
        pull_request=env("CI_MERGE_REQUEST_IID"),
        build_id=env("CI_PIPELINE_ID"),
        build_number=env("CI_PIPELINE_IID"),
        build_url=env("CI_PIPELINE_URL"),
        job=env("CI_JOB_NAME"),
        attempt=None,  # GitLab documents no retry counter (gitlab-org/gitlab#340141)
    )


def _jenkins(env: _Env) -> CIInfo:
    # https://www.jenkins.io/doc/book/pipeline/jenkinsfile/#using-environment-variables
    # GIT_* come from the Git plugin; BRANCH_NAME, TAG_NAME, CHANGE_ID from multibranch.
    git_branch = env("GIT_BRANCH")
    if git_branch and git_branch.startswith("origin/"):
        git_branch = git_branch[len("origin/") :]
    pull = env("CHANGE_ID")
    return CIInfo(
        provider="Jenkins",
        repository=env("GIT_URL"),
        commit=env("GIT_COMMIT"),
        branch=env("CHANGE_BRANCH") if pull else env("BRANCH_NAME") or git_branch,
        tag=env("TAG_NAME"),
        pull_request=pull,
        build_id=env("BUILD_ID"),
        build_number=env("BUILD_NUMBER"),
        build_url=env("BUILD_URL"),
        job=env("JOB_NAME"),
    )


def _circleci(env: _Env) -> CIInfo:
    # https://circleci.com/docs/variables/#built-in-environment-variables
    user, name = env("CIRCLE_PROJECT_USERNAME"), env("CIRCLE_PROJECT_REPONAME")
    pull = env("CIRCLE_PR_NUMBER") or _last_number(env("CIRCLE_PULL_REQUEST"))
    return CIInfo(
        provider="CircleCI",
        repository=f"{user}/{name}" if user and name else env("CIRCLE_REPOSITORY_URL"),
        commit=env("CIRCLE_SHA1"),
        branch=env("CIRCLE_BRANCH"),
        tag=env("CIRCLE_TAG"),
        pull_request=pull,
        build_id=env("CIRCLE_WORKFLOW_ID"),
        build_number=env("CIRCLE_BUILD_NUM"),
        build_url=env("CIRCLE_BUILD_URL"),
        job=env("CIRCLE_JOB"),
    )


def _last_number(url: str | None) -> str | None:
    match = re.search(r"/(\d+)/?$", url or "")
    return match.group(1) if match else None


def _azure(env: _Env) -> CIInfo:
    # https://learn.microsoft.com/azure/devops/pipelines/build/variables
    # Variables reach scripts upper-cased with dots as underscores (Build.BuildId ->
    # BUILD_BUILDID).
    branch, tag = _strip_ref(env("BUILD_SOURCEBRANCH"))
    pull = env("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER", "SYSTEM_PULLREQUEST_PULLREQUESTID")
    if pull:
        branch = _strip_ref(env("SYSTEM_PULLREQUEST_SOURCEBRANCH"))[0] or branch
    else:
        pull = _number_in_ref(env("BUILD_SOURCEBRANCH"))
    collection, project, build_id = (
        env("SYSTEM_COLLECTIONURI"),
        env("SYSTEM_TEAMPROJECT"),
        env("BUILD_BUILDID"),
    )
    url = None
    if collection and project and build_id:
        url = f"{collection.rstrip('/')}/{quote(project)}/_build/results?buildId={build_id}"
    return CIInfo(
        provider="Azure Pipelines",
        repository=env("BUILD_REPOSITORY_NAME"),
        commit=env("BUILD_SOURCEVERSION"),
        branch=branch,
        tag=tag,
        pull_request=pull,
        build_id=build_id,
        build_number=env("BUILD_BUILDNUMBER"),
        build_url=url,
        job=env("SYSTEM_JOBDISPLAYNAME", "AGENT_JOBNAME"),
        attempt=env("SYSTEM_JOBATTEMPT"),
    )


def _buildkite(env: _Env) -> CIInfo:
    # https://buildkite.com/docs/pipelines/environment-variables
    org, pipeline = env("BUILDKITE_ORGANIZATION_SLUG"), env("BUILDKITE_PIPELINE_SLUG")
    retries = env("BUILDKITE_RETRY_COUNT")  # 0 on the first run of a job
    return CIInfo(
        provider="Buildkite",
        repository=f"{org}/{pipeline}" if org and pipeline else env("BUILDKITE_REPO"),
        commit=env("BUILDKITE_COMMIT"),
        branch=env("BUILDKITE_BRANCH"),
        tag=env("BUILDKITE_TAG"),
        pull_request=_not_false(env("BUILDKITE_PULL_REQUEST")),
        build_id=env("BUILDKITE_BUILD_ID"),
        build_number=env("BUILDKITE_BUILD_NUMBER"),
        build_url=env("BUILDKITE_BUILD_URL"),
        job=env("BUILDKITE_LABEL", "BUILDKITE_STEP_KEY"),
        attempt=str(int(retries) + 1) if retries and retries.isdigit() else None,
    )


def _bitbucket(env: _Env) -> CIInfo:
    # https://support.atlassian.com/bitbucket-cloud/docs/variables-and-secrets/
    repository = env("BITBUCKET_REPO_FULL_NAME")
    number = env("BITBUCKET_BUILD_NUMBER")
    url = None
    if repository and number:
        url = f"https://bitbucket.org/{repository}/pipelines/results/{number}"
    return CIInfo(
        provider="Bitbucket Pipelines",
        repository=repository,
        commit=env("BITBUCKET_COMMIT"),
        branch=env("BITBUCKET_BRANCH"),
        tag=env("BITBUCKET_TAG"),
        pull_request=env("BITBUCKET_PR_ID"),
        build_id=env("BITBUCKET_PIPELINE_UUID"),
        build_number=number,
        build_url=url,
    )


def _teamcity(env: _Env) -> CIInfo:
    # https://www.jetbrains.com/help/teamcity/predefined-build-parameters.html
    # Only a few parameters reach the environment by default (env.BUILD_NUMBER,
    # env.BUILD_VCS_NUMBER, env.TEAMCITY_*); the branch and the build id are
    # configuration parameters: pass them as --metadata ci_branch=%teamcity.build.branch%.
    return CIInfo(
        provider="TeamCity",
        repository=env("TEAMCITY_PROJECT_NAME"),
        commit=env("BUILD_VCS_NUMBER"),
        build_number=env("BUILD_NUMBER"),
        job=env("TEAMCITY_BUILDCONF_NAME"),
    )


def _travis(env: _Env) -> CIInfo:
    # https://docs.travis-ci.com/user/environment-variables/#default-environment-variables
    pull = _not_false(env("TRAVIS_PULL_REQUEST"))
    return CIInfo(
        provider="Travis CI",
        repository=env("TRAVIS_REPO_SLUG"),
        commit=env("TRAVIS_COMMIT"),
        # On a pull request TRAVIS_BRANCH is the target branch; the source branch is apart.
        branch=env("TRAVIS_PULL_REQUEST_BRANCH") if pull else env("TRAVIS_BRANCH"),
        tag=env("TRAVIS_TAG"),
        pull_request=pull,
        build_id=env("TRAVIS_BUILD_ID"),
        build_number=env("TRAVIS_BUILD_NUMBER"),
        build_url=env("TRAVIS_BUILD_WEB_URL"),
        job=env("TRAVIS_JOB_NAME", "TRAVIS_JOB_NUMBER"),
    )


def _woodpecker(env: _Env) -> CIInfo:
    # https://woodpecker-ci.org/docs/usage/environment (CI_BUILD_* before Woodpecker 1.0)
    return CIInfo(
        provider="Woodpecker",
        repository=env("CI_REPO"),
        commit=env("CI_COMMIT_SHA"),
        branch=env("CI_COMMIT_SOURCE_BRANCH", "CI_COMMIT_BRANCH"),
        tag=env("CI_COMMIT_TAG"),
        pull_request=env("CI_COMMIT_PULL_REQUEST"),
        build_number=env("CI_PIPELINE_NUMBER", "CI_BUILD_NUMBER"),
        build_url=env("CI_PIPELINE_URL", "CI_PIPELINE_LINK", "CI_BUILD_LINK"),
        job=env("CI_WORKFLOW_NAME", "CI_STEP_NAME"),
    )


def _drone(env: _Env) -> CIInfo:
    # https://docs.drone.io/pipeline/environment/reference/
    return CIInfo(
        provider="Drone",
        repository=env("DRONE_REPO"),
        commit=env("DRONE_COMMIT_SHA", "DRONE_COMMIT"),
        branch=env("DRONE_SOURCE_BRANCH", "DRONE_BRANCH"),
        tag=env("DRONE_TAG"),
        pull_request=env("DRONE_PULL_REQUEST"),
        build_number=env("DRONE_BUILD_NUMBER"),
        build_url=env("DRONE_BUILD_LINK"),
        job=env("DRONE_STAGE_NAME", "DRONE_STEP_NAME"),
    )


def _codebuild(env: _Env) -> CIInfo:
    # https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html
    build_id = env("CODEBUILD_BUILD_ID")  # "<project>:<uuid>"
    project = build_id.split(":", 1)[0] if build_id else None
    trigger = env("CODEBUILD_WEBHOOK_TRIGGER") or ""  # branch/x, tag/v1 or pr/12
    kind, _, name = trigger.partition("/")
    branch = name if kind == "branch" else _strip_ref(env("CODEBUILD_WEBHOOK_HEAD_REF"))[0]
    source = env("CODEBUILD_SOURCE_VERSION") or ""
    pull = name if kind == "pr" else (source[3:] if source.startswith("pr/") else None)
    region = env("AWS_REGION", "AWS_DEFAULT_REGION")
    url = None
    if build_id and project and region:
        url = (
            f"https://{region}.console.aws.amazon.com/codesuite/codebuild/projects/"
            f"{quote(project)}/build/{quote(build_id, safe='')}/?region={region}"
        )
    return CIInfo(
        provider="AWS CodeBuild",
        repository=env("CODEBUILD_SOURCE_REPO_URL"),
        commit=env("CODEBUILD_RESOLVED_SOURCE_VERSION"),
        branch=branch,
        tag=name if kind == "tag" else None,
        pull_request=pull,
        build_id=build_id,
        build_number=env("CODEBUILD_BUILD_NUMBER"),
        build_url=url,
        job=project,
    )


def _cloud_build(env: _Env) -> CIInfo:
    # https://cloud.google.com/build/docs/configuring-builds/substitute-variable-values
    # Cloud Build sets no variables in a step's environment: its substitutions reach
    # junit2af only when the build config passes them, e.g. options.env:
    # [BUILD_ID=$BUILD_ID, PROJECT_ID=$PROJECT_ID, COMMIT_SHA=$COMMIT_SHA, ...].
    build_id, project = env("BUILD_ID"), env("PROJECT_ID")
    url = None
    if build_id and project:
        url = f"https://console.cloud.google.com/cloud-build/builds/{build_id}?project={project}"
    return CIInfo(
        provider="Google Cloud Build",
        repository=env("REPO_FULL_NAME", "REPO_NAME"),
        commit=env("COMMIT_SHA"),
        branch=env("_HEAD_BRANCH", "BRANCH_NAME"),
        tag=env("TAG_NAME"),
        pull_request=env("_PR_NUMBER"),
        build_id=build_id,
        build_url=url,
        job=env("TRIGGER_NAME"),
    )


_Marker = Callable[[_Env], bool]

#: Tried in this order: the first marker that matches names the provider.
_PROVIDERS: list[tuple[_Marker, Callable[[_Env], CIInfo]]] = [
    (lambda env: env.true("GITHUB_ACTIONS"), _github),
    (lambda env: env.true("GITLAB_CI"), _gitlab),
    (lambda env: env.true("CIRCLECI"), _circleci),
    (lambda env: env.true("TF_BUILD"), _azure),
    (lambda env: env.true("BUILDKITE"), _buildkite),
    (lambda env: env("BITBUCKET_BUILD_NUMBER") is not None, _bitbucket),
    (lambda env: env("TEAMCITY_VERSION") is not None, _teamcity),
    (lambda env: env.true("TRAVIS"), _travis),
    (lambda env: env("CI") == "woodpecker", _woodpecker),  # before Drone: it sets DRONE_*
    (lambda env: env.true("DRONE"), _drone),
    (lambda env: env("CODEBUILD_BUILD_ID") is not None, _codebuild),
    (lambda env: env("JENKINS_URL", "JENKINS_HOME") is not None, _jenkins),
    (lambda env: env("BUILD_ID") is not None and env("PROJECT_ID") is not None, _cloud_build),
]

#: Every provider detect_ci knows, in the order it tries them.
PROVIDERS = (
    "GitHub Actions",
    "GitLab CI",
    "CircleCI",
    "Azure Pipelines",
    "Buildkite",
    "Bitbucket Pipelines",
    "TeamCity",
    "Travis CI",
    "Woodpecker",
    "Drone",
    "AWS CodeBuild",
    "Jenkins",
    "Google Cloud Build",
)
