"""Registration entry point, mirroring :func:`mmseg.utils.register_all_modules`."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every module of wsss_mmseg (and mmseg) so they are registered.

    Args:
        init_default_scope (bool): Also make ``wsss_mmseg`` the current
            default scope. Defaults to True.
    """
    from mmseg.utils import register_all_modules as mmseg_register
    mmseg_register(init_default_scope=False)

    import wsss_mmseg.datasets  # noqa: F401
    import wsss_mmseg.engine  # noqa: F401
    import wsss_mmseg.evaluation  # noqa: F401
    import wsss_mmseg.models  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created(
            'wsss_mmseg'):
        DefaultScope.get_instance('wsss_mmseg', scope_name='wsss_mmseg')
    elif current.scope_name != 'wsss_mmseg':
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      'not "wsss_mmseg"; register_all_modules switches it to '
                      '"wsss_mmseg".')
        name = f'wsss_mmseg-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name='wsss_mmseg')
